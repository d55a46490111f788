-- When each user was last seen online (their last socket closed, or their gateway died).
-- Redis holds the live value; this column keeps it past a Redis restart and for users whose
-- Redis entry is gone. Nullable: users who never connected have never been seen.
ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "last_seen_at" timestamp with time zone;
