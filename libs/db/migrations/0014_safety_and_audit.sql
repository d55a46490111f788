-- Safety and administration (protocol.md, "Additions in v1.1"): blocks, mutes, reports, bans,
-- and the audit log every safety and administration action appends to.
--
-- audit_log: append-only. `id` is a bigserial so admins page it newest first by id alone (a
-- cursor is the last id seen); `at` is when it happened. actor_id/actor_role are who did it
-- (the token's sub and parley_role), action what ("user.block", "report.resolve", ...),
-- target_kind/target_id on what ("user", "message", "report", "conversation"), details the
-- rest as JSON (a reason, an end time).
CREATE TABLE IF NOT EXISTS "audit_log" (
  "id" bigserial PRIMARY KEY,
  "at" timestamptz NOT NULL DEFAULT now(),
  "actor_id" text NOT NULL,
  "actor_role" text NOT NULL,
  "action" text NOT NULL,
  "target_kind" text NOT NULL,
  "target_id" text NOT NULL,
  "details" jsonb NOT NULL DEFAULT '{}'::jsonb
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "audit_log_target_idx" ON "audit_log" ("target_kind", "target_id", "id");
--> statement-breakpoint
-- user_blocks: blocker_id blocks blocked_id. No foreign key to users: a user may block an id
-- that never connected (as member adds may name one). The second index answers "who blocks
-- this sender" (push decisions, direct sends).
CREATE TABLE IF NOT EXISTS "user_blocks" (
  "blocker_id" text NOT NULL,
  "blocked_id" text NOT NULL,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("blocker_id", "blocked_id"),
  CONSTRAINT "user_blocks_not_self_ck" CHECK ("blocker_id" <> "blocked_id")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "user_blocks_blocked_idx" ON "user_blocks" ("blocked_id", "blocker_id");
--> statement-breakpoint
-- A mute is the member's own: a column of members, so it goes with the membership and the push
-- path reads it in the query that already reads members (no extra round trip). NULL: not muted;
-- 'infinity': until unmuted; a time: muted until then.
ALTER TABLE "members" ADD COLUMN IF NOT EXISTS "muted_until" timestamptz;
--> statement-breakpoint
-- reports: one per (reporter, message), the unique index decides a race. The message's sender
-- and conversation are copied so the queue reads without joins and survives the message's
-- deletion. status 'open' until resolved with an action.
CREATE TABLE IF NOT EXISTS "reports" (
  "id" uuid PRIMARY KEY,
  "message_id" uuid NOT NULL,
  "conversation_id" uuid NOT NULL,
  "reporter_id" text NOT NULL,
  "reported_user_id" text NOT NULL,
  "reason" text NOT NULL,
  "note" text,
  "status" text NOT NULL DEFAULT 'open',
  "action" text,
  "resolved_by" text,
  "resolved_at" timestamptz,
  "created_at" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT "reports_reason_ck" CHECK ("reason" IN ('spam', 'abuse', 'harassment', 'illegal', 'other')),
  CONSTRAINT "reports_status_ck" CHECK ("status" IN ('open', 'resolved')),
  CONSTRAINT "reports_action_ck" CHECK ("action" IS NULL OR "action" IN ('dismiss', 'delete_message', 'ban_user'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "reports_reporter_message_uq" ON "reports" ("reporter_id", "message_id");
--> statement-breakpoint
-- The moderation queue pages by status, oldest first (the id is a v7 UUID: time-ordered).
CREATE INDEX IF NOT EXISTS "reports_status_idx" ON "reports" ("status", "id");
--> statement-breakpoint
-- user_bans: one row per banned user; `until` NULL for a ban without end. An ended ban is
-- treated as absent wherever it is read (until <= now()), so it lifts by itself.
CREATE TABLE IF NOT EXISTS "user_bans" (
  "user_id" text PRIMARY KEY,
  "until" timestamptz,
  "reason" text,
  "banned_by" text NOT NULL,
  "created_at" timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- parley_persist_batch as 0012 left it, with one change: an item marked "asService" (the
-- gateway sets it only for a `kind: "system"` send by a token whose parley_role is "service",
-- protocol.md "Additions in v1.1") needs its conversation to exist, not its sender to be a
-- member. Every other item is checked exactly as before: the mark is honoured only together
-- with kind 'system', and only the gateway writes the persist stream. The items' other fields,
-- the locking order and the outcomes are unchanged (0012's header states them).
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
  WHERE c.id = ANY (ARRAY(SELECT DISTINCT (x->>'conversationId')::uuid FROM jsonb_array_elements(p_items) x))
  ORDER BY c.id
  FOR UPDATE;

  FOR r IN
    WITH items AS (
      SELECT t.*
      FROM ROWS FROM (
        jsonb_to_recordset(p_items) AS (
          id uuid, "conversationId" uuid, "senderId" text, "senderName" text, "clientMessageId" uuid,
          kind text, body text, "replyToId" uuid, attachments jsonb, "asService" boolean
        )
      ) WITH ORDINALITY AS t(id, conversation_id, sender_id, sender_name, client_message_id, kind, body, reply_to_id, attachments, as_service, ord)
    ),
    stored AS (
      SELECT m.*
      FROM (SELECT DISTINCT i.sender_id, i.client_message_id FROM items i) k
      CROSS JOIN LATERAL (
        SELECT * FROM messages m1
        WHERE m1.sender_id = k.sender_id AND m1.client_message_id = k.client_message_id
        LIMIT 1
      ) m
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
              AND CASE
                WHEN s.body_digest IS NOT NULL THEN s.body_digest = parley_body_digest(s.id, i.body)
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
        AND c.id = ANY (ARRAY(SELECT ct.conversation_id FROM counts ct))
      RETURNING c.id, c.last_seq - counts.n AS base
    ),
    inserted AS (
      INSERT INTO messages (id, conversation_id, seq, sender_id, client_message_id, kind, body, reply_to_id, attachments, created_at, body_digest)
      SELECT n.id, n.conversation_id, b.base + n.k, n.sender_id, n.client_message_id, n.kind, n.body, n.reply_to_id,
        CASE WHEN jsonb_typeof(n.attachments) = 'array' AND jsonb_array_length(n.attachments) > 0 THEN n.attachments END,
        v_now, parley_body_digest(n.id, n.body)
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
