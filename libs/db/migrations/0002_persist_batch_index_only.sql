-- How parley_persist_batch is planned. PL/pgSQL plans its statements once per connection and
-- keeps the plans, so two settings matter:
-- - enable_seqscan = off: planned while `messages` is empty or small, the look-up of stored
--   keys becomes a hash join over a sequential scan of `messages`, which stays in the cached
--   plan as the table grows: every commit then reads the whole table. Every access in the
--   function has a unique index.
-- - plan_cache_mode = force_generic_plan: the statement is large; planning it again for each
--   call (a custom plan) doubled the cost of a commit on this machine, and the row counts it
--   would plan for are the same every time (the JSON argument's length is not known to the
--   planner either way).
ALTER FUNCTION parley_persist_batch(jsonb) SET enable_seqscan = off;
ALTER FUNCTION parley_persist_batch(jsonb) SET plan_cache_mode = force_generic_plan;
