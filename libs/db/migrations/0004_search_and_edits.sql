-- Full-text search over message bodies (GET /v1/search; libs/db/src/search.ts): the index, then
-- parley_search_recent and parley_search. At the end, parley_persist_batch again, changed for
-- edits and deletions.
--
-- One GIN index, on (conversation_id, to_tsvector('simple', lower(body))).
-- - An expression index, not a stored tsvector column: adding a column to `messages` would
--   rewrite the table (billions of rows) and make every row wider, and history and sync read
--   rows off the primary key, so wider rows cost every read. The search query recomputes the
--   tsvector only for the candidate rows it ranks (at most a few hundred).
-- - conversation_id in the same GIN index (btree_gin): a search always names the caller's
--   conversations, and GIN intersects the conversation's posting list with the words' inside
--   the index, so a word found in half the table costs what its matches in the caller's
--   conversations cost, not what all its matches cost.
-- - 'simple' configuration: lower-cases and splits on non-letters, no stemming and no stop
--   words. Chat is multilingual and a message has no reliable language tag: an English
--   configuration would stem French or German words wrongly and drop words that are stop
--   words only in English ("die", "war"). Exact words (and websearch syntax: "quoted
--   phrases", OR, -word) work the same in every language.
-- - lower(body COLLATE "und-x-icu") first: to_tsvector lower-cases with the database's
--   LC_CTYPE, which under the C locale (fast, and what our servers are initialised with)
--   lower-cases ASCII only, so "CAFÉ" would not find "café" and "ПИЦЦУ" not "пиццу".
--   ICU's root locale lower-cases every script whatever the database's locale. The query
--   side (parley_search below) applies the same expression, or the index would not be used.
-- - Not a partial index (no WHERE deleted_at IS NULL): the planner ignores the statistics of
--   a partial index's expressions, and without them it guesses every word at 0.5 % of rows and
--   picks plans accordingly (a rare word's search measured three times slower, p50 6.4 against
--   2.2 ms). A tombstone's body is NULL, so it has no words in the index anyway; queries still
--   filter on deleted_at.
-- - fastupdate (GIN's default): new entries go to a pending list merged in bulk (by
--   autovacuum, or by an insert once the list passes gin_pending_list_limit), which keeps the
--   cost on the persister's insert path low.
CREATE EXTENSION IF NOT EXISTS btree_gin;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "messages_search_idx" ON "messages"
  USING gin ("conversation_id", to_tsvector('simple'::regconfig, lower("body" COLLATE "und-x-icu")));
--> statement-breakpoint
-- parley_search_recent(p_conversations uuid[], p_query tsquery, p_want int): the newest p_want
-- live messages of the given conversations that match p_query, found by walking each
-- conversation backwards from its newest message (the primary key) and testing each body.
--
-- ARGS:  p_conversations  the conversations to search
--        p_query          the query, lower-cased like the index
--        p_want           how many matches
-- RETURNS (conversation_id, seq, created_at, body) of at most p_want matches, newest first.
--
-- For words found in a large share of messages, where this reads about p_want / share rows,
-- while the index would hand over every match (tens of thousands for "the") only for all but
-- p_want of them to be thrown away. Conversations are visited most recently active first; once
-- p_want matches are known, a conversation whose last message is older than the oldest of them
-- is skipped, and a walk stops at the first match older than it. Seq order is commit order, so
-- "older" is exact up to concurrently committing batches (milliseconds).
-- plan_cache_mode = auto (below): the per-conversation statement runs once per conversation,
-- and its one sensible plan (a backward scan of the primary key) is planned once and reused;
-- the other settings below make sure that is the plan.
CREATE OR REPLACE FUNCTION parley_search_recent(p_conversations uuid[], p_query tsquery, p_want int)
RETURNS TABLE (conversation_id uuid, seq bigint, created_at timestamptz, body text)
LANGUAGE plpgsql STABLE
AS $fn$
#variable_conflict use_column
DECLARE
  c record;
  r record;
  v_conversation uuid[] := '{}';
  v_seq bigint[] := '{}';
  v_at timestamptz[] := '{}';
  v_body text[] := '{}';
  -- When p_want matches are known: the created_at of the p_want-th newest.
  v_cutoff timestamptz;
  v_found int;
BEGIN
  FOR c IN
    SELECT cv.id, cv.last_message_at FROM conversations cv
    WHERE cv.id = ANY (p_conversations) AND cv.last_seq > 0
    ORDER BY cv.last_message_at DESC NULLS LAST
  LOOP
    EXIT WHEN v_cutoff IS NOT NULL AND c.last_message_at < v_cutoff;
    v_found := 0;
    -- The match is computed, not filtered on: a filter would let the planner pick the GIN
    -- index, which is what this function exists to avoid. Only the primary key fits here.
    FOR r IN
      SELECT m.seq, m.created_at, m.body,
        to_tsvector('simple'::regconfig, lower(m.body COLLATE "und-x-icu")) @@ p_query AS hit
      FROM messages m
      WHERE m.conversation_id = c.id AND m.deleted_at IS NULL AND m.body IS NOT NULL
      ORDER BY m.seq DESC
    LOOP
      EXIT WHEN v_cutoff IS NOT NULL AND r.created_at < v_cutoff;
      CONTINUE WHEN NOT r.hit;
      v_found := v_found + 1;
      v_conversation := v_conversation || c.id;
      v_seq := v_seq || r.seq;
      v_at := v_at || r.created_at;
      v_body := v_body || r.body;
      EXIT WHEN v_found >= p_want;
    END LOOP;
    IF v_found > 0 AND cardinality(v_at) >= p_want THEN
      SELECT min(x.at) INTO v_cutoff FROM (SELECT a.at FROM unnest(v_at) a(at) ORDER BY a.at DESC LIMIT p_want) x;
    END IF;
  END LOOP;
  RETURN QUERY
    SELECT h.conversation_id, h.seq, h.created_at, h.body
    FROM unnest(v_conversation, v_seq, v_at, v_body) h(conversation_id, seq, created_at, body)
    ORDER BY h.created_at DESC
    LIMIT p_want;
END
$fn$;
--> statement-breakpoint
ALTER FUNCTION parley_search_recent(uuid[], tsquery, int) SET plan_cache_mode = auto;
--> statement-breakpoint
-- A loop over a query is planned for reading every row, which for "this conversation by seq"
-- is a bitmap scan (of the search index's conversation column) and a sort: every body of the
-- conversation tested before the first row comes out. The walk stops early, so only the
-- backward scan of the primary key is right, and without bitmap scans it is the cheapest.
ALTER FUNCTION parley_search_recent(uuid[], tsquery, int) SET enable_bitmapscan = off;
--> statement-breakpoint
-- parley_search(p_user text, p_query text, p_conversation uuid, p_limit int): the search itself.
--
-- ARGS:  p_user          the caller: only conversations they are a member of are searched
--        p_query         web-search syntax (words all must match, "a phrase", or, -word),
--                        lower-cased like the index
--        p_conversation  NULL, or the one conversation to search (the caller must belong to it;
--                        otherwise nothing is found, and the gateway answers FORBIDDEN first)
--        p_limit         rows to return
-- RETURNS (conversation_id, seq, rank), best first: the newest 200 matches ranked by ts_rank
-- (normalised by body length), ties newest first. A query with no word to look up (only
-- punctuation, or only -excluded words) finds nothing rather than scanning everything.
--
-- Two ways to the newest 200 matches, whichever reads fewer rows by the index statistics
-- (pg_stats' most common lexemes of messages_search_idx give each word's share of messages):
-- - the index reads every match, about share × (the caller's messages). The caller's
--   conversations are read first and passed as an array, so the planner knows how many
--   there are and GIN intersects each conversation's posting list with the words' inside the
--   index; the matches are sorted by time.
-- - parley_search_recent reads about 200 / share rows, newest first: fewer for a query of
--   very common words ("the", "ok").
-- (Both cost a few microseconds per row read: a heap row for the one, a body's words for
-- the other.)
-- Planned on every call (plan_cache_mode below): how selective the words are decides the plan,
-- and a generic plan cached for "any word" measured 10 to 50 times slower for common words.
CREATE OR REPLACE FUNCTION parley_search(p_user text, p_query text, p_conversation uuid, p_limit int)
RETURNS TABLE (conversation_id uuid, seq bigint, rank real)
LANGUAGE plpgsql STABLE
AS $fn$
#variable_conflict use_column
DECLARE
  v_query tsquery := websearch_to_tsquery('simple'::regconfig, lower(p_query COLLATE "und-x-icu"));
  -- What the index is asked: the query without its very common words (see below).
  v_index_query tsquery;
  v_conversations uuid[];
  v_messages bigint;
  v_share float8;
BEGIN
  IF numnode(v_query) = 0 OR querytree(v_query) = 'T' THEN
    RETURN;
  END IF;
  SELECT array_agg(mb.conversation_id), sum(cv.last_seq) INTO v_conversations, v_messages
  FROM members mb JOIN conversations cv ON cv.id = mb.conversation_id
  WHERE mb.user_id = p_user AND (p_conversation IS NULL OR mb.conversation_id = p_conversation);
  IF v_conversations IS NULL THEN
    RETURN;
  END IF;
  -- The share of messages holding every word: the product of each word's share, a word
  -- missing from the statistics counting as rare (1 in 2,000). And, for a query of several
  -- plain words (no phrase, or, -word), the same query without its words found in more than
  -- 5 % of messages (or, when all are, its least common word alone): the index then
  -- intersects only the selective posting lists, and the common words are tested on the rows
  -- that come out (intersecting a posting list of half the table costs more than testing them).
  SELECT exp(sum(ln(greatest(coalesce(st.freq, 0.0005), 1e-9)))),
    CASE WHEN v_query::text ~ '^''[^'']+''( & ''[^'']+'')*$' AND count(*) > 1
      THEN to_tsquery('simple'::regconfig, coalesce(
        string_agg(quote_literal(w.word), ' & ') FILTER (WHERE coalesce(st.freq, 0) <= 0.05),
        -- Every word common: the least common one alone.
        quote_literal((array_agg(w.word ORDER BY st.freq, w.word))[1])))
      ELSE v_query END
  INTO v_share, v_index_query
  FROM unnest(tsvector_to_array(to_tsvector('simple'::regconfig, lower(p_query COLLATE "und-x-icu")))) w(word)
  LEFT JOIN (
    SELECT e.elem, e.freq
    FROM pg_stats s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) e(elem, freq)
    WHERE s.schemaname = current_schema() AND s.tablename = 'messages_search_idx' AND s.attname = 'to_tsvector'
  ) st ON st.elem = w.word;

  IF 200 / greatest(coalesce(v_share, 0), 1e-9) < coalesce(v_share, 0) * v_messages THEN
    RETURN QUERY
      SELECT h.conversation_id, h.seq,
        ts_rank(to_tsvector('simple'::regconfig, lower(h.body COLLATE "und-x-icu")), v_query, 1) AS rank
      FROM parley_search_recent(v_conversations, v_query, 200) h
      ORDER BY rank DESC, h.created_at DESC, h.conversation_id, h.seq
      LIMIT p_limit;
    RETURN;
  END IF;
  RETURN QUERY
    WITH hits AS (
      SELECT m.conversation_id, m.seq, m.created_at, m.body
      FROM messages m
      WHERE m.conversation_id = ANY (v_conversations)
        AND to_tsvector('simple'::regconfig, lower(m.body COLLATE "und-x-icu")) @@ v_index_query
        -- The whole query, as a function call so the planner does not hand it to the index
        -- (planned per call, so this folds away when nothing was left out).
        AND (v_index_query = v_query OR ts_match_vq(to_tsvector('simple'::regconfig, lower(m.body COLLATE "und-x-icu")), v_query))
        AND m.deleted_at IS NULL AND m.body IS NOT NULL
      ORDER BY m.created_at DESC
      LIMIT 200
    )
    SELECT h.conversation_id, h.seq,
      ts_rank(to_tsvector('simple'::regconfig, lower(h.body COLLATE "und-x-icu")), v_query, 1) AS rank
    FROM hits h
    ORDER BY rank DESC, h.created_at DESC, h.conversation_id, h.seq
    LIMIT p_limit;
END
$fn$;
--> statement-breakpoint
ALTER FUNCTION parley_search(text, text, uuid, int) SET plan_cache_mode = force_custom_plan;
--> statement-breakpoint
-- parley_persist_batch, as in 0001, with one change for edits and deletions: a retry of a send
-- whose message was edited or deleted since (the sender's other device saw it and changed it
-- before this device heard its ack) is answered as the duplicate it is, with the message as it
-- is now, not CONFLICT: the stored body no longer equals the one the retry carries. A reuse of
-- the key with other content for an edited message is answered the same way (nothing is
-- stored either way). Header, contract and invariants: 0001_persist_batch_function.sql.
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
BEGIN
  PERFORM 1 FROM conversations c
  WHERE c.id IN (SELECT DISTINCT (x->>'conversationId')::uuid FROM jsonb_array_elements(p_items) x)
  ORDER BY c.id
  FOR UPDATE;

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
      SELECT m.* FROM messages m
      JOIN (SELECT DISTINCT i.sender_id, i.client_message_id FROM items i) k
        ON m.sender_id = k.sender_id AND m.client_message_id = k.client_message_id
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
              AND (s.body IS NOT DISTINCT FROM i.body OR s.edited_at IS NOT NULL OR s.deleted_at IS NOT NULL)
              THEN 'duplicate' ELSE 'conflict' END
          WHEN f.ord <> i.ord THEN 'sibling'
          WHEN NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = i.conversation_id) THEN 'forbidden'
          WHEN i.reply_to_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM messages rm WHERE rm.id = i.reply_to_id AND rm.conversation_id = i.conversation_id)
            THEN 'bad_reply'
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
      RETURNING c.id, c.last_seq - counts.n AS base
    ),
    inserted AS (
      INSERT INTO messages (id, conversation_id, seq, sender_id, client_message_id, kind, body, reply_to_id, attachments, created_at)
      SELECT n.id, n.conversation_id, b.base + n.k, n.sender_id, n.client_message_id, n.kind, n.body, n.reply_to_id,
        CASE WHEN jsonb_typeof(n.attachments) = 'array' AND jsonb_array_length(n.attachments) > 0 THEN n.attachments END,
        v_now
      FROM numbered n JOIN bumped b ON b.id = n.conversation_id
      ON CONFLICT (sender_id, client_message_id) DO NOTHING
      RETURNING messages.id
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
      COALESCE(u.display_name, s.sender_id) AS s_sender_name, s.client_message_id AS s_client_message_id,
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
    LEFT JOIN users u ON u.id = s.sender_id
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
