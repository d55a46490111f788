-- 0003 was merged with a journal timestamp older than 0004's, and drizzle applies only
-- migrations newer than the last one a database recorded: a database migrated between the
-- two merges skipped 0003. Repeating it here (newer than 0004) repairs those; elsewhere the
-- column exists and this does nothing.
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "last_seen_at" timestamp with time zone;
