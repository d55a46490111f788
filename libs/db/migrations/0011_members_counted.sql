-- conversations.member_count: the number of rows in members for the conversation, kept exact
-- by statement-level triggers on members (one UPDATE per statement and conversation, whatever
-- the number of rows, so adding 500 members costs one row update, not 500).
--
-- Why a column and not count(*): the member count is read on hot paths. Receipts in a room above
-- RECEIPT_ROOM_MAX_MEMBERS go only to the senders of the messages they cover (a read or a
-- delivery batch needs the count of every conversation it touches), and member adds are refused
-- past MAX_MEMBERS_PER_CONVERSATION; counting a 10,000-member conversation's index entries on
-- each would cost more than the receipt itself (docs/decisions/0035-receipts-in-big-rooms.md).
--
-- The triggers also serialise membership changes with commits: each one updates the
-- conversation's row, which parley_persist_batch locks FOR UPDATE first, so a removal and a
-- batch holding a message of the removed member are ordered (0012 checks membership).
ALTER TABLE "conversations" ADD COLUMN IF NOT EXISTS "member_count" integer NOT NULL DEFAULT 0;
--> statement-breakpoint
UPDATE conversations c SET member_count = m.n
FROM (SELECT conversation_id, count(*)::int AS n FROM members GROUP BY conversation_id) m
WHERE c.id = m.conversation_id AND c.member_count <> m.n;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION parley_members_counted() RETURNS trigger
LANGUAGE plpgsql
AS $fn$
-- TG_OP INSERT: `changed` holds the inserted rows; DELETE: the deleted ones. Rows are grouped
-- per conversation and conversations updated in id order, so two statements never deadlock.
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE conversations c SET member_count = c.member_count + d.n
    FROM (SELECT conversation_id, count(*)::int AS n FROM changed GROUP BY conversation_id ORDER BY conversation_id) d
    WHERE c.id = d.conversation_id;
  ELSE
    UPDATE conversations c SET member_count = c.member_count - d.n
    FROM (SELECT conversation_id, count(*)::int AS n FROM changed GROUP BY conversation_id ORDER BY conversation_id) d
    WHERE c.id = d.conversation_id;
  END IF;
  RETURN NULL;
END
$fn$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS members_counted_insert ON members;
--> statement-breakpoint
CREATE TRIGGER members_counted_insert AFTER INSERT ON members
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_members_counted();
--> statement-breakpoint
DROP TRIGGER IF EXISTS members_counted_delete ON members;
--> statement-breakpoint
CREATE TRIGGER members_counted_delete AFTER DELETE ON members
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION parley_members_counted();
