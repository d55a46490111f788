-- Full-text search over message bodies (GET /v1/search; libs/db/src/search.ts).
--
-- One GIN index, on (conversation_id, to_tsvector('simple', lower(body))), for live messages only.
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
--   side applies the same expression (libs/db/src/search.ts), or the index would not be used.
-- - WHERE deleted_at IS NULL: a tombstone's row leaves the index (its body is NULL anyway).
-- - fastupdate (GIN's default): new entries go to a pending list merged in bulk (by
--   autovacuum, or by an insert once the list passes gin_pending_list_limit), which keeps the
--   cost on the persister's insert path low.
CREATE EXTENSION IF NOT EXISTS btree_gin;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "messages_search_idx" ON "messages"
  USING gin ("conversation_id", to_tsvector('simple'::regconfig, lower("body" COLLATE "und-x-icu")))
  WHERE "deleted_at" IS NULL AND "body" IS NOT NULL;
