-- parley_search again (0004_search_and_edits.sql has the index, parley_search_recent and the
-- header of this function: arguments, result, the two ways to the newest 200 matches), with one
-- change: every word of the query is asked of the index, common ones included.
--
-- 0004 left words found in more than 5 % of messages out of the index condition and tested
-- them on the rows the selective words found (to_tsvector recomputed on each row, twice: the
-- recheck and the filter). For two common words ("in deploy": 12 % and 3 %) that was ~900
-- candidate rows fetched and parsed to keep ~100, and the query class measured p99 55 ms on
-- 1,000,000 messages. GIN intersects the words' posting lists itself, and cheaply even for a
-- word in half the table: it walks the rarest list and only seeks in the longer ones
-- ("fast scan"), so 'in & deploy' costs about what 'deploy' alone costs in the index, and
-- only the ~100 real matches are fetched (and, for plain words, not rechecked). The
-- conversations are still intersected as a bitmap (the planner's choice: the primary key's
-- entries for the caller's conversations, ANDed with the words' bitmap).
-- Measured on 200,000 messages, "in deploy" in the caller's 100 conversations: 5.0 → 1.6 ms;
-- "the i mabe" (59 %, 41 %, 1 %): 3.2 → 1.7 ms. On 1,000,000 messages, 100 queries of each of
-- the benchmark's classes against 0004's function and this one: the same answers for all
-- 1,000; "two common words" p50 19.7 → 9.8 ms, p99 45 → 21 ms, no class slower (full run:
-- docs/benchmarks.md).
CREATE OR REPLACE FUNCTION parley_search(p_user text, p_query text, p_conversation uuid, p_limit int)
RETURNS TABLE (conversation_id uuid, seq bigint, rank real)
LANGUAGE plpgsql STABLE
AS $fn$
#variable_conflict use_column
DECLARE
  v_query tsquery := websearch_to_tsquery('simple'::regconfig, lower(p_query COLLATE "und-x-icu"));
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
  -- missing from the statistics counting as rare (1 in 2,000).
  SELECT exp(sum(ln(greatest(coalesce(st.freq, 0.0005), 1e-9))))
  INTO v_share
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
END
$fn$;
--> statement-breakpoint
-- CREATE OR REPLACE drops the setting 0004 gave the function; the same one again (0004 says why).
ALTER FUNCTION parley_search(text, text, uuid, int) SET plan_cache_mode = force_custom_plan;
