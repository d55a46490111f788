-- `messages` hash-partitioned by conversation_id (docs/architecture.md, "Schema and growth";
-- docs/decisions/0055-messages-partitioned-by-conversation.md). Every read and write of
-- messages names conversation_id, so a query touches one partition, partitions can be vacuumed,
-- moved and retired one at a time, and the same schema distributes on Citus by that column
-- (docs/operations.md, "Postgres past one machine").
--
-- A unique index of a partitioned table must hold its partition key, so the two keys that are
-- not about a conversation move to tables of their own, each partitioned by its own key and
-- written in the commit's transaction:
-- - message_keys (sender_id, client_message_id) → (conversation_id, seq): the dedupe key,
--   partitioned by sender. parley_persist_batch looks retries up here and inserts here with
--   ON CONFLICT, exactly as it did on messages_sender_client_id_uq;
-- - message_ids (id) → (conversation_id, seq): the routes that name only a message id
--   (message:edit, message:delete, reaction:add/remove, a reply's replyToId) find its
--   conversation here, one probe of a primary key, partitioned by id.
--   docs/decisions/0056-message-id-lookup-table.md says why a table and not an id that encodes
--   the conversation.
-- `reactions` gets conversation_id and the same partitioning as messages: a message's reactions
-- sit in the partition of its conversation (colocated on Citus; read with the message).
--
-- Partitions: 8 each (docs/decisions/0057-eight-partitions.md). An operator changes the
-- number with `select parley_partition_messages(N)` (docs/operations.md says when and what it
-- costs); this migration is that function's first call.

-- Forgets the keys, the id and the reactions of deleted messages (retention, an operator's
-- DELETE): with the unique indexes on messages a deleted row took its keys with it; the
-- side tables must do the same, or a deleted message's retry would be answered with nothing.
-- Statement-level with the deleted rows as a transition table: one join per DELETE, not one
-- trigger call per row. Nothing on the send path deletes, so the commit never pays for it.
CREATE OR REPLACE FUNCTION parley_messages_forget() RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
  DELETE FROM message_keys k USING gone g
  WHERE k.sender_id = g.sender_id AND k.client_message_id = g.client_message_id
    AND k.conversation_id = g.conversation_id AND k.seq = g.seq;
  DELETE FROM message_ids x USING gone g WHERE x.id = g.id;
  DELETE FROM reactions r USING gone g WHERE r.conversation_id = g.conversation_id AND r.message_id = g.id;
  RETURN NULL;
END
$fn$;
--> statement-breakpoint
-- parley_partition_messages(p_partitions): (re)builds messages, reactions, message_keys and
-- message_ids as p_partitions hash partitions each, with every row they hold, in one
-- transaction, under an ACCESS EXCLUSIVE lock on all four (sends, edits and reads of messages
-- wait until it commits: a rewrite of every row, minutes per tens of millions of rows; see
-- docs/operations.md). Converts the unpartitioned tables of migrations 0000–0012 as well as
-- partitioned ones of another count; a no-op when the count is already p_partitions.
-- Ids, seqs, timestamps, digests and reactions are copied as they are; the keys and ids of
-- message_keys and message_ids are rebuilt from messages, which holds both.
-- Dynamic SQL (EXECUTE format with %I/%s) only for the partition names and bounds, which the
-- function computes itself from an integer.
CREATE OR REPLACE FUNCTION parley_partition_messages(p_partitions int) RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
  v_tables text[] := ARRAY['messages', 'reactions', 'message_keys', 'message_ids'];
  -- The order the commit function takes them in (message_keys, then messages, then message_ids).
  v_lock_order text[] := ARRAY['message_keys', 'messages', 'message_ids', 'reactions'];
  v_table text;
  v_index record;
  v_width int;
  k int;
  j int;
BEGIN
  IF p_partitions IS NULL OR p_partitions < 1 OR p_partitions > 1024 THEN
    RAISE EXCEPTION 'parley_partition_messages: partitions must be from 1 to 1024, not %', p_partitions;
  END IF;
  -- Locked in the commit's order, so this waits for running commits instead of deadlocking
  -- with them (an edit, which reads message_ids before messages, may still meet it in a
  -- deadlock; Postgres then cancels one of the two, and the edit is answered with an error).
  FOREACH v_table IN ARRAY v_lock_order LOOP
    IF to_regclass(v_table) IS NOT NULL THEN
      EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', v_table);
    END IF;
  END LOOP;
  IF (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = 'messages'::regclass) = p_partitions
    AND EXISTS (SELECT 1 FROM pg_partitioned_table p WHERE p.partrelid = 'messages'::regclass) THEN
    RETURN;
  END IF;

  -- The current tables step aside under other names (their indexes too: index names are
  -- unique in a schema), and are dropped once copied.
  FOREACH v_table IN ARRAY v_tables LOOP
    IF to_regclass(v_table) IS NOT NULL THEN
      FOR v_index IN
        SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indrelid = to_regclass(v_table)
      LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', v_index.relname, 'parley_old_' || v_index.relname);
      END LOOP;
      EXECUTE format('ALTER TABLE %I RENAME TO %I', v_table, 'parley_old_' || v_table);
    END IF;
  END LOOP;

  -- LIKE keeps messages' columns (and any a later migration adds) in their order.
  CREATE TABLE messages (LIKE parley_old_messages INCLUDING DEFAULTS) PARTITION BY HASH (conversation_id);
  CREATE TABLE reactions (
    conversation_id uuid NOT NULL,
    message_id uuid NOT NULL,
    user_id text NOT NULL,
    emoji text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  ) PARTITION BY HASH (conversation_id);
  CREATE TABLE message_keys (
    sender_id text NOT NULL,
    client_message_id uuid NOT NULL,
    conversation_id uuid NOT NULL,
    seq bigint NOT NULL
  ) PARTITION BY HASH (sender_id);
  CREATE TABLE message_ids (
    id uuid NOT NULL,
    conversation_id uuid NOT NULL,
    seq bigint NOT NULL
  ) PARTITION BY HASH (id);
  -- messages_h8_0 … messages_h8_7: the count in the name, so a rebuild to another count
  -- never collides with the partitions it replaces.
  v_width := length((p_partitions - 1)::text);
  FOR j IN 1 .. array_length(v_tables, 1) LOOP
    FOR k IN 0 .. p_partitions - 1 LOOP
      EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES WITH (MODULUS %s, REMAINDER %s)',
        v_tables[j] || '_h' || p_partitions || '_' || lpad(k::text, v_width, '0'), v_tables[j], p_partitions, k);
    END LOOP;
  END LOOP;

  INSERT INTO messages SELECT * FROM parley_old_messages;
  INSERT INTO message_keys (sender_id, client_message_id, conversation_id, seq)
    SELECT m.sender_id, m.client_message_id, m.conversation_id, m.seq FROM messages m;
  INSERT INTO message_ids (id, conversation_id, seq) SELECT m.id, m.conversation_id, m.seq FROM messages m;
  -- Reactions of a message that no longer exists (none should: a deletion removes them) are not carried over.
  INSERT INTO reactions (conversation_id, message_id, user_id, emoji, created_at)
    SELECT x.conversation_id, r.message_id, r.user_id, r.emoji, r.created_at
    FROM parley_old_reactions r JOIN message_ids x ON x.id = r.message_id;

  -- Indexes after the copy (built once, not grown row by row); the same as 0000/0004/0009
  -- made, less messages_id_uq and messages_sender_client_id_uq (message_ids, message_keys).
  ALTER TABLE messages ADD CONSTRAINT messages_pkey PRIMARY KEY (conversation_id, seq);
  -- 0004 says why the search index is shaped so.
  CREATE INDEX messages_search_idx ON messages
    USING gin (conversation_id, to_tsvector('simple'::regconfig, lower(body COLLATE "und-x-icu")));
  CREATE INDEX messages_sender_seq_idx ON messages (conversation_id, sender_id, seq);
  ALTER TABLE reactions ADD CONSTRAINT reactions_pkey PRIMARY KEY (conversation_id, message_id, user_id, emoji);
  ALTER TABLE message_keys ADD CONSTRAINT message_keys_pkey PRIMARY KEY (sender_id, client_message_id);
  ALTER TABLE message_ids ADD CONSTRAINT message_ids_pkey PRIMARY KEY (id);
  CREATE TRIGGER messages_forget AFTER DELETE ON messages
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION parley_messages_forget();

  DROP TABLE parley_old_messages;
  DROP TABLE parley_old_reactions;
  IF to_regclass('parley_old_message_keys') IS NOT NULL THEN
    DROP TABLE parley_old_message_keys;
    DROP TABLE parley_old_message_ids;
  END IF;
  -- Statistics now (autovacuum never analyzes a partitioned parent; it does the partitions
  -- later): the planner and parley_search's word shares read them.
  ANALYZE messages, reactions, message_keys, message_ids;
END
$fn$;
--> statement-breakpoint
SELECT parley_partition_messages(8);
--> statement-breakpoint
-- parley_persist_batch again (0012 has the version this replaces; header, contract and
-- invariants: 0001_persist_batch_function.sql). Same batch shape, same answers, same
-- membership check; what changed:
-- - a stored key is looked up in message_keys (one probe of its primary key, in the partition
--   of the sender), then its row in messages by (conversation_id, seq) (one probe of the
--   primary key of the conversation's partition);
-- - a new message's key goes into message_keys with ON CONFLICT DO NOTHING, and only the
--   items whose key went in are inserted into messages: a key a concurrent batch committed
--   first is 'lost' and the whole batch rolls back and is retried (PY001), as with 0012's
--   ON CONFLICT on messages_sender_client_id_uq; a retry is then answered from message_keys,
--   so every retry gets the same answer;
-- - its id goes into message_ids; replyToId is checked there (id and conversation);
-- - the look-ups of stored keys and of replies run as statements of their own before the
--   main one, the rows of stored keys are read only when a key was found, and replies are
--   checked only when the batch has one. Why: a plan that reads a partitioned table by a value
--   known only while it runs (a key from p_items) opens and locks every partition of it on each
--   call; three such reads in the main statement (message_keys, messages, message_ids) made a
--   commit's fixed cost grow with the partition count (docs/decisions/0057-eight-partitions.md
--   has the numbers). Now a commit without retries or replies opens only message_keys'
--   partitions. The answers are the same: a key stored by a concurrent commit after the
--   look-up is still caught by the insert's ON CONFLICT ('lost', PY001, retried), and a reply's
--   target, a committed message, is as visible to the earlier statement as to the later.
CREATE OR REPLACE FUNCTION parley_persist_batch(p_items jsonb)
RETURNS TABLE (
  ord bigint, status text, id uuid, conversation_id uuid, seq bigint, sender_id text, sender_name text,
  client_message_id uuid, kind text, body text, reply_to_id uuid, attachments jsonb,
  created_at timestamptz, edited_at timestamptz, deleted_at timestamptz
)
LANGUAGE plpgsql
AS $fn$
#variable_conflict use_column
DECLARE
  v_now timestamptz := now();
  r record;
  v_key_conversations uuid[];
  v_key_seqs bigint[];
  -- The stored rows of the batch's keys found stored, as to_jsonb(messages row)s.
  v_stored jsonb := '[]';
  -- The ordinals of the items whose replyToId is a message of their conversation.
  v_reply_ok bigint[] := '{}';
BEGIN
  PERFORM 1 FROM conversations c
  WHERE c.id = ANY (ARRAY(SELECT DISTINCT (x->>'conversationId')::uuid FROM jsonb_array_elements(p_items) x))
  ORDER BY c.id
  FOR UPDATE;

  -- One probe of the primary key per key, whatever the statistics (0008 says why LATERAL … LIMIT 1).
  SELECT array_agg(mk.conversation_id), array_agg(mk.seq) INTO v_key_conversations, v_key_seqs
  FROM (SELECT DISTINCT x->>'senderId' AS sender_id, (x->>'clientMessageId')::uuid AS client_message_id
        FROM jsonb_array_elements(p_items) x) k
  CROSS JOIN LATERAL (
    SELECT mk1.conversation_id, mk1.seq FROM message_keys mk1
    WHERE mk1.sender_id = k.sender_id AND mk1.client_message_id = k.client_message_id
    LIMIT 1
  ) mk;
  IF v_key_conversations IS NOT NULL THEN
    SELECT coalesce(jsonb_agg(to_jsonb(m)), '[]') INTO v_stored
    FROM unnest(v_key_conversations, v_key_seqs) AS s(conversation_id, seq)
    CROSS JOIN LATERAL (
      SELECT m1.* FROM messages m1 WHERE m1.conversation_id = s.conversation_id AND m1.seq = s.seq
    ) m;
  END IF;
  IF jsonb_path_exists(p_items, '$[*].replyToId ? (@ != null)') THEN
    SELECT coalesce(array_agg(t.ord), '{}') INTO v_reply_ok
    FROM jsonb_array_elements(p_items) WITH ORDINALITY AS t(x, ord)
    WHERE EXISTS (
      SELECT 1 FROM message_ids rm
      WHERE rm.id = (t.x->>'replyToId')::uuid AND rm.conversation_id = (t.x->>'conversationId')::uuid
    );
  END IF;

  FOR r IN
    WITH items AS (
      SELECT t.*
      FROM ROWS FROM (
        jsonb_to_recordset(p_items) AS (
          id uuid, "conversationId" uuid, "senderId" text, "senderName" text, "clientMessageId" uuid,
          kind text, body text, "replyToId" uuid, attachments jsonb
        )
      ) WITH ORDINALITY AS t(id, conversation_id, sender_id, sender_name, client_message_id, kind, body, reply_to_id, attachments, ord)
    ),
    stored AS (
      SELECT m.*
      FROM jsonb_to_recordset(v_stored) AS m(
        id uuid, conversation_id uuid, seq bigint, sender_id text, client_message_id uuid, kind text, body text,
        reply_to_id uuid, attachments jsonb, created_at timestamptz, edited_at timestamptz, deleted_at timestamptz,
        body_digest bytea
      )
    ),
    -- The first item of each key not stored before: the one that may be stored now.
    firsts AS (
      SELECT DISTINCT ON (i.sender_id, i.client_message_id) i.ord, i.sender_id, i.client_message_id
      FROM items i
      WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.sender_id = i.sender_id AND s.client_message_id = i.client_message_id)
      ORDER BY i.sender_id, i.client_message_id, i.ord
    ),
    decided AS (
      SELECT i.*,
        CASE
          WHEN s.id IS NOT NULL THEN
            CASE WHEN s.conversation_id = i.conversation_id AND s.kind = i.kind
              AND CASE
                WHEN s.body_digest IS NOT NULL THEN s.body_digest = parley_body_digest(s.id, i.body)
                -- Stored before 0006 (no digest): 0004's rule.
                ELSE s.body IS NOT DISTINCT FROM i.body OR s.edited_at IS NOT NULL OR s.deleted_at IS NOT NULL
              END
              THEN 'duplicate' ELSE 'conflict' END
          WHEN f.ord <> i.ord THEN 'sibling'
          WHEN NOT EXISTS (
            SELECT 1 FROM members mb WHERE mb.conversation_id = i.conversation_id AND mb.user_id = i.sender_id
          ) THEN 'forbidden'
          WHEN i.reply_to_id IS NOT NULL AND NOT (i.ord = ANY (v_reply_ok)) THEN 'bad_reply'
          ELSE 'new'
        END AS decision,
        f.ord AS first_ord
      FROM items i
      LEFT JOIN stored s ON s.sender_id = i.sender_id AND s.client_message_id = i.client_message_id
      LEFT JOIN firsts f ON f.sender_id = i.sender_id AND f.client_message_id = i.client_message_id
    ),
    numbered AS (
      SELECT d.*, row_number() OVER (PARTITION BY d.conversation_id ORDER BY d.ord) AS k
      FROM decided d WHERE d.decision = 'new'
    ),
    counts AS (
      SELECT n.conversation_id, count(*) AS n FROM numbered n GROUP BY n.conversation_id
    ),
    bumped AS (
      UPDATE conversations c
      SET last_seq = c.last_seq + counts.n, last_message_at = v_now
      FROM counts
      WHERE c.id = counts.conversation_id
        AND c.id = ANY (ARRAY(SELECT ct.conversation_id FROM counts ct))
      RETURNING c.id, c.last_seq - counts.n AS base
    ),
    keyed AS (
      INSERT INTO message_keys (sender_id, client_message_id, conversation_id, seq)
      SELECT n.sender_id, n.client_message_id, n.conversation_id, b.base + n.k
      FROM numbered n JOIN bumped b ON b.id = n.conversation_id
      ON CONFLICT (sender_id, client_message_id) DO NOTHING
      RETURNING message_keys.conversation_id, message_keys.seq
    ),
    inserted AS (
      INSERT INTO messages (id, conversation_id, seq, sender_id, client_message_id, kind, body, reply_to_id, attachments, created_at, body_digest)
      SELECT n.id, n.conversation_id, b.base + n.k, n.sender_id, n.client_message_id, n.kind, n.body, n.reply_to_id,
        CASE WHEN jsonb_typeof(n.attachments) = 'array' AND jsonb_array_length(n.attachments) > 0 THEN n.attachments END,
        v_now, parley_body_digest(n.id, n.body)
      FROM numbered n JOIN bumped b ON b.id = n.conversation_id
      JOIN keyed ky ON ky.conversation_id = n.conversation_id AND ky.seq = b.base + n.k
      RETURNING messages.id, messages.conversation_id, messages.seq
    ),
    -- Not read below: a data-modifying WITH runs whether or not it is read.
    identified AS (
      INSERT INTO message_ids (id, conversation_id, seq)
      SELECT ins.id, ins.conversation_id, ins.seq FROM inserted ins
    )
    SELECT d.ord,
      CASE
        WHEN d.decision IN ('duplicate', 'conflict', 'forbidden', 'bad_reply') THEN d.decision
        WHEN d.decision = 'new' THEN CASE WHEN ins.id IS NULL THEN 'lost' ELSE 'new' END
        -- A later item of a key first seen in this batch: answered like the first one.
        WHEN fd.conversation_id = d.conversation_id AND fd.body IS NOT DISTINCT FROM d.body AND fd.kind = d.kind THEN
          CASE WHEN fd.decision = 'new' THEN CASE WHEN ins.id IS NULL THEN 'lost' ELSE 'duplicate' END ELSE fd.decision END
        ELSE 'conflict'
      END AS outcome,
      s.id AS s_id, s.conversation_id AS s_conversation_id, s.seq AS s_seq, s.sender_id AS s_sender_id,
      COALESCE((SELECT u.display_name FROM users u WHERE u.id = s.sender_id), s.sender_id) AS s_sender_name, s.client_message_id AS s_client_message_id,
      s.kind AS s_kind, s.body AS s_body, s.reply_to_id AS s_reply_to_id, s.attachments AS s_attachments,
      s.created_at AS s_created_at, s.edited_at AS s_edited_at, s.deleted_at AS s_deleted_at,
      n.id AS n_id, n.conversation_id AS n_conversation_id, b.base + n.k AS n_seq, n.sender_id AS n_sender_id,
      n.sender_name AS n_sender_name, n.client_message_id AS n_client_message_id, n.kind AS n_kind, n.body AS n_body,
      n.reply_to_id AS n_reply_to_id,
      CASE WHEN jsonb_typeof(n.attachments) = 'array' AND jsonb_array_length(n.attachments) > 0 THEN n.attachments END AS n_attachments
    FROM decided d
    LEFT JOIN stored s ON s.sender_id = d.sender_id AND s.client_message_id = d.client_message_id
    LEFT JOIN decided fd ON fd.ord = d.first_ord
    LEFT JOIN numbered n ON n.ord = d.first_ord
    LEFT JOIN bumped b ON b.id = n.conversation_id
    LEFT JOIN inserted ins ON ins.id = n.id
    ORDER BY d.ord
  LOOP
    IF r.outcome = 'lost' THEN
      RAISE EXCEPTION 'a concurrent transaction stored the same clientMessageId' USING ERRCODE = 'PY001';
    END IF;
    ord := r.ord;
    status := r.outcome;
    IF r.s_id IS NOT NULL THEN
      id := r.s_id; conversation_id := r.s_conversation_id; seq := r.s_seq; sender_id := r.s_sender_id;
      sender_name := r.s_sender_name; client_message_id := r.s_client_message_id; kind := r.s_kind; body := r.s_body;
      reply_to_id := r.s_reply_to_id; attachments := r.s_attachments; created_at := r.s_created_at;
      edited_at := r.s_edited_at; deleted_at := r.s_deleted_at;
    ELSIF r.outcome IN ('new', 'duplicate') THEN
      id := r.n_id; conversation_id := r.n_conversation_id; seq := r.n_seq; sender_id := r.n_sender_id;
      sender_name := r.n_sender_name; client_message_id := r.n_client_message_id; kind := r.n_kind; body := r.n_body;
      reply_to_id := r.n_reply_to_id; attachments := r.n_attachments; created_at := v_now;
      edited_at := NULL; deleted_at := NULL;
    ELSE
      id := NULL; conversation_id := NULL; seq := NULL; sender_id := NULL; sender_name := NULL;
      client_message_id := NULL; kind := NULL; body := NULL; reply_to_id := NULL; attachments := NULL;
      created_at := NULL; edited_at := NULL; deleted_at := NULL;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$fn$;
--> statement-breakpoint
-- CREATE OR REPLACE drops the settings 0002 gave the function; the same ones again (0002 says why).
ALTER FUNCTION parley_persist_batch(jsonb) SET enable_seqscan = off;
--> statement-breakpoint
ALTER FUNCTION parley_persist_batch(jsonb) SET plan_cache_mode = force_generic_plan;
--> statement-breakpoint
-- parley_search's word shares (0004 says what they decide, 0010 how they bound the work) came
-- from pg_stats of messages_search_idx. A partitioned index has no statistics of its own
-- (ANALYZE computes expression statistics for the indexes of each partition, and autovacuum
-- keeps those fresh), so a word's share is now its share in each partition's search index,
-- weighted by the partition's rows: the share over the whole table. Otherwise as in 0010.
CREATE OR REPLACE FUNCTION parley_search(p_user text, p_query text, p_conversation uuid, p_limit int, p_max_rows int DEFAULT 20000)
RETURNS TABLE (conversation_id uuid, seq bigint, rank real)
LANGUAGE plpgsql STABLE
AS $fn$
#variable_conflict use_column
DECLARE
  v_query tsquery := websearch_to_tsquery('simple'::regconfig, lower(p_query COLLATE "und-x-icu"));
  -- What the index is asked when counting: the indexable part (negations dropped), phrases
  -- as plain words, so GIN answers it exactly and every candidate is a row that holds them.
  v_plain tsquery;
  v_conversations uuid[];
  v_messages bigint;
  v_share float8;
  v_candidates int;
BEGIN
  IF numnode(v_query) = 0 OR querytree(v_query) = 'T' THEN
    RETURN;
  END IF;
  v_plain := regexp_replace(querytree(v_query), '<[0-9]*-?>', '&', 'g')::tsquery;
  SELECT array_agg(mb.conversation_id), sum(cv.last_seq) INTO v_conversations, v_messages
  FROM members mb JOIN conversations cv ON cv.id = mb.conversation_id
  WHERE mb.user_id = p_user AND (p_conversation IS NULL OR mb.conversation_id = p_conversation);
  IF v_conversations IS NULL THEN
    RETURN;
  END IF;
  -- The share of messages holding every word the index is asked for: the product of each
  -- word's share, a word missing from the statistics counting as rare (1 in 2,000).
  SELECT exp(sum(ln(greatest(coalesce(st.freq, 0.0005), 1e-9))))
  INTO v_share
  FROM (
    SELECT DISTINCT replace((regexp_matches(v_plain::text, '''((?:[^'']|'''')*)''', 'g'))[1], '''''', '''') AS word
  ) w
  LEFT JOIN (
    SELECT e.elem, sum(e.freq * p.n) / nullif((SELECT sum(greatest(pt.reltuples, 0)) FROM pg_inherits pi
        JOIN pg_index px ON px.indexrelid = pi.inhrelid JOIN pg_class pt ON pt.oid = px.indrelid
        WHERE pi.inhparent = 'messages_search_idx'::regclass), 0) AS freq
    FROM (
      SELECT ic.relname AS index_name, greatest(tc.reltuples, 0) AS n
      FROM pg_inherits i
      JOIN pg_class ic ON ic.oid = i.inhrelid
      JOIN pg_index x ON x.indexrelid = i.inhrelid
      JOIN pg_class tc ON tc.oid = x.indrelid
      WHERE i.inhparent = 'messages_search_idx'::regclass
    ) p
    JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = p.index_name AND s.attname = 'to_tsvector'
    CROSS JOIN LATERAL unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) e(elem, freq)
    WHERE e.elem IS NOT NULL
    GROUP BY e.elem
  ) st ON st.elem = w.word;

  IF 200 / greatest(coalesce(v_share, 0), 1e-9) >= coalesce(v_share, 0) * v_messages
    AND coalesce(v_share, 0) * v_messages <= p_max_rows THEN
    SELECT count(*)::int INTO v_candidates FROM (
      SELECT 1 FROM messages m
      WHERE m.conversation_id = ANY (v_conversations)
        AND to_tsvector('simple'::regconfig, lower(m.body COLLATE "und-x-icu")) @@ v_plain
      LIMIT p_max_rows + 1
    ) x;
    IF v_candidates <= p_max_rows THEN
      RETURN QUERY
        WITH hits AS (
          SELECT m.conversation_id, m.seq, m.created_at, m.body
          FROM messages m
          WHERE m.conversation_id = ANY (v_conversations)
            AND to_tsvector('simple'::regconfig, lower(m.body COLLATE "und-x-icu")) @@ v_query
            AND m.deleted_at IS NULL AND m.body IS NOT NULL
          ORDER BY m.created_at DESC
          LIMIT 200
        )
        SELECT h.conversation_id, h.seq,
          ts_rank(to_tsvector('simple'::regconfig, lower(h.body COLLATE "und-x-icu")), v_query, 1) AS rank
        FROM hits h
        ORDER BY rank DESC, h.created_at DESC, h.conversation_id, h.seq
        LIMIT p_limit;
      RETURN;
    END IF;
  END IF;
  RETURN QUERY
    SELECT h.conversation_id, h.seq,
      ts_rank(to_tsvector('simple'::regconfig, lower(h.body COLLATE "und-x-icu")), v_query, 1) AS rank
    FROM parley_search_recent(v_conversations, v_query, 200, p_max_rows) h
    ORDER BY rank DESC, h.created_at DESC, h.conversation_id, h.seq
    LIMIT p_limit;
END
$fn$;
--> statement-breakpoint
-- CREATE OR REPLACE drops the setting 0010 gave it; 0004 says why.
ALTER FUNCTION parley_search(text, text, uuid, int, int) SET plan_cache_mode = force_custom_plan;
