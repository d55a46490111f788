-- parley_persist_batch as 0015 left it (header, contract and invariants:
-- 0001_persist_batch_function.sql; 0012 to 0015 say what they changed), with one change: it
-- no longer waits for a conversation row that another transaction holds.
--
-- Before, the batch locked its conversations' rows FOR UPDATE, in id order, and waited for any
-- that another transaction held. A persister commits one batch at a time per lane, merging
-- every conversation that had sends, so one conversation row held for 30 s (an operator's
-- long transaction, a migration, a stuck client of the database) stalled every conversation's
-- commits behind it: measured in the fault suite, the other conversations' p99 ack during
-- such a lock was 38 s.
--
-- Now the rows are locked FOR UPDATE SKIP LOCKED. An item whose conversation exists but whose
-- row could not be locked at once is answered 'busy': nothing of it is read or written, and
-- the caller tries it again later (the persister parks the conversation, keeping its order:
-- services/persister/src/commit/commit-lane.ts). Every other item is decided exactly as
-- before. Nothing waits on a row lock any more, so two batches still cannot deadlock.
-- If a later migration redefines this function, it keeps this change.
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
  -- The batch's conversations; those whose rows this transaction locked; those another holds.
  v_ids uuid[];
  v_locked uuid[];
  v_busy uuid[] := '{}';
BEGIN
  v_ids := ARRAY(SELECT DISTINCT (x->>'conversationId')::uuid FROM jsonb_array_elements(p_items) x);
  SELECT coalesce(array_agg(l.id), '{}') INTO v_locked FROM (
    SELECT c.id FROM conversations c
    WHERE c.id = ANY (v_ids)
    ORDER BY c.id
    FOR UPDATE SKIP LOCKED
  ) l;
  -- Only when a row was skipped (or is missing): which conversations exist but are held.
  IF cardinality(v_locked) < cardinality(v_ids) THEN
    SELECT coalesce(array_agg(c.id), '{}') INTO v_busy FROM conversations c
    WHERE c.id = ANY (v_ids) AND NOT (c.id = ANY (v_locked));
  END IF;

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
          kind text, body text, "replyToId" uuid, attachments jsonb, "asService" boolean, "sentBody" text
        )
      ) WITH ORDINALITY AS t(id, conversation_id, sender_id, sender_name, client_message_id, kind, body, reply_to_id, attachments, as_service, sent_body, ord)
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
          -- First: every item of a held conversation waits, in order, whatever else it would be.
          WHEN i.conversation_id = ANY (v_busy) THEN 'busy'
          WHEN s.id IS NOT NULL THEN
            CASE WHEN s.conversation_id = i.conversation_id AND s.kind = i.kind
              AND CASE
                WHEN s.body_digest IS NOT NULL THEN s.body_digest = parley_body_digest(s.id, coalesce(i.sent_body, i.body))
                -- Stored before 0006 (no digest): 0004's rule.
                ELSE s.body IS NOT DISTINCT FROM i.body OR s.edited_at IS NOT NULL OR s.deleted_at IS NOT NULL
              END
              THEN 'duplicate' ELSE 'conflict' END
          WHEN f.ord <> i.ord THEN 'sibling'
          WHEN NOT CASE
            -- A service's system message (0014): the conversation must exist; membership is not asked.
            WHEN i.as_service IS TRUE AND i.kind = 'system' THEN EXISTS (SELECT 1 FROM conversations c WHERE c.id = i.conversation_id)
            ELSE EXISTS (SELECT 1 FROM members mb WHERE mb.conversation_id = i.conversation_id AND mb.user_id = i.sender_id)
          END THEN 'forbidden'
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
        v_now, parley_body_digest(n.id, coalesce(n.sent_body, n.body))
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
        WHEN d.decision IN ('busy', 'duplicate', 'conflict', 'forbidden', 'bad_reply') THEN d.decision
        WHEN d.decision = 'new' THEN CASE WHEN ins.id IS NULL THEN 'lost' ELSE 'new' END
        -- A later item of a key first seen in this batch: answered like the first one.
        WHEN fd.conversation_id = d.conversation_id AND coalesce(fd.sent_body, fd.body) IS NOT DISTINCT FROM coalesce(d.sent_body, d.body) AND fd.kind = d.kind THEN
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
