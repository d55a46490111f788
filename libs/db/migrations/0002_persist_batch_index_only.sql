-- parley_persist_batch plans its statements once per connection and keeps the plans. Planned
-- while `messages` is empty or small, the look-up of stored keys becomes a hash join over a
-- sequential scan of `messages`, which stays in the cached plan as the table grows (until the
-- next ANALYZE, and for good on a generic plan): every commit then reads the whole table.
-- Every access in the function has a unique index, so the function forbids sequential scans.
ALTER FUNCTION parley_persist_batch(jsonb) SET enable_seqscan = off;
