-- Search's work per query is bounded whatever the query (issue 12). 0004/0007 pick between
-- the index and the newest-first walk (parley_search_recent) by how common the query's words
-- are, and either could read without end when the words' shares mislead:
-- - "the the" (a phrase) or `the -the` (a word and its negation): the shares say "the" is in
--   half the messages, so the walk was picked to find 200 matches in about 400 rows; but
--   nearly nothing (or nothing) matches the whole query, and the walk read every message of
--   the caller's conversations looking for them;
-- - the index path reads every candidate the index hands over (all the rows holding the
--   query's plain words) before the newest 200 are kept: with statistics missing or stale,
--   words that go together, or `or`, that is far more than the shares promised.
-- Now both paths have a budget, p_max_rows (the gateway's SEARCH_MAX_ROWS):
-- - the walk reads at most p_max_rows messages in all and answers the newest matches among
--   them (the matches of the most recent messages: what a chat search shows first anyway);
-- - the index path is taken only when the shares put its candidates under p_max_rows, and
--   first counts them, up to p_max_rows + 1, asking the index only for the query's plain
--   words (phrases as plain words, negations left out: exactly what GIN answers without
--   rechecking rows, so each candidate counted is one row read). More than the budget: the
--   walk instead. A search reads at most about 2 × p_max_rows messages.
-- The words' share is now taken over the words the index is asked for (querytree, phrases
-- relaxed), not over negated ones too: `cat -the` no longer counts "the" as making it rare.
DROP FUNCTION IF EXISTS parley_search(text, text, uuid, int);
--> statement-breakpoint
DROP FUNCTION IF EXISTS parley_search_recent(uuid[], tsquery, int);
--> statement-breakpoint
-- parley_search_recent as in 0004 (its header says how the walk goes), with p_max_rows: the
-- messages read in all, across conversations, before it answers what it found.
CREATE FUNCTION parley_search_recent(p_conversations uuid[], p_query tsquery, p_want int, p_max_rows int DEFAULT 20000)
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
  v_cutoff timestamptz;
  v_found int;
  v_read int := 0;
BEGIN
  <<conversations>>
  FOR c IN
    SELECT cv.id, cv.last_message_at FROM conversations cv
    WHERE cv.id = ANY (p_conversations) AND cv.last_seq > 0
    ORDER BY cv.last_message_at DESC NULLS LAST
  LOOP
    EXIT WHEN v_cutoff IS NOT NULL AND c.last_message_at < v_cutoff;
    v_found := 0;
    FOR r IN
      SELECT m.seq, m.created_at, m.body,
        to_tsvector('simple'::regconfig, lower(m.body COLLATE "und-x-icu")) @@ p_query AS hit
      FROM messages m
      WHERE m.conversation_id = c.id AND m.deleted_at IS NULL AND m.body IS NOT NULL
      ORDER BY m.seq DESC
    LOOP
      EXIT WHEN v_cutoff IS NOT NULL AND r.created_at < v_cutoff;
      v_read := v_read + 1;
      IF r.hit THEN
        v_found := v_found + 1;
        v_conversation := v_conversation || c.id;
        v_seq := v_seq || r.seq;
        v_at := v_at || r.created_at;
        v_body := v_body || r.body;
      END IF;
      EXIT conversations WHEN v_read >= p_max_rows;
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
-- 0004 says why these two.
ALTER FUNCTION parley_search_recent(uuid[], tsquery, int, int) SET plan_cache_mode = auto;
--> statement-breakpoint
ALTER FUNCTION parley_search_recent(uuid[], tsquery, int, int) SET enable_bitmapscan = off;
--> statement-breakpoint
-- The budget counts the rows the walk is handed, so they must come off the primary key one by
-- one: a sequential scan and a sort (the planner's pick for a conversation holding most of a
-- table whose rows are out of seq order) reads the whole conversation before the first row.
ALTER FUNCTION parley_search_recent(uuid[], tsquery, int, int) SET enable_seqscan = off;
--> statement-breakpoint
-- parley_search as in 0007 (0004 has its header), with p_max_rows and the counted index path.
CREATE FUNCTION parley_search(p_user text, p_query text, p_conversation uuid, p_limit int, p_max_rows int DEFAULT 20000)
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
    SELECT e.elem, e.freq
    FROM pg_stats s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) e(elem, freq)
    WHERE s.schemaname = current_schema() AND s.tablename = 'messages_search_idx' AND s.attname = 'to_tsvector'
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
-- 0004 says why (the right plan depends on the words).
ALTER FUNCTION parley_search(text, text, uuid, int, int) SET plan_cache_mode = force_custom_plan;
