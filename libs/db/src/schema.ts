import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import type { Attachment } from "@parley/protocol";

/** drizzle-orm 0.45 has no bytea column builder. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => "bytea" });

const createdAt = () => timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow();

/** A user as the JWTs describe them: `id` is the `sub` claim, `display_name` the `name` claim. */
export const users = pgTable("users", {
  id: text("id").primaryKey(),
  displayName: text("display_name").notNull(),
  createdAt: createdAt(),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  /** When the user's last socket closed (presence); null if never seen. Only ever moved forward. */
  lastSeenAt: timestamp("last_seen_at", { withTimezone: true, mode: "date" }),
});

export const conversations = pgTable(
  "conversations",
  {
    id: uuid("id").primaryKey(),
    kind: text("kind", { enum: ["direct", "group", "space"] }).notNull(),
    title: text("title"),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    /** The highest committed seq; bumped in the same transaction as the insert (gap-free order). */
    lastSeq: bigint("last_seq", { mode: "number" }).notNull().default(0),
    /** Orders the conversation list; set with `last_seq`. */
    lastMessageAt: timestamp("last_message_at", { withTimezone: true, mode: "date" }),
    /** For direct conversations only: the two user ids, sorted, so one pair has one conversation. */
    directKey: text("direct_key"),
    /** Rows in members for this conversation, kept exact by triggers (migrations/0011_members_counted.sql). */
    memberCount: integer("member_count").notNull().default(0),
    /** Days after which messages become tombstones; NULL follows MESSAGE_RETENTION_DAYS (0015). */
    retentionDays: integer("retention_days"),
    /** Every message up to this seq was made a tombstone by retention (0015): the next sweep starts after it. */
    retainedThroughSeq: bigint("retained_through_seq", { mode: "number" }).notNull().default(0),
  },
  (t) => [
    uniqueIndex("conversations_direct_key_uq").on(t.directKey),
    check("conversations_kind_ck", sql`${t.kind} in ('direct', 'group', 'space')`),
  ],
);

export const members = pgTable(
  "members",
  {
    conversationId: uuid("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull(),
    role: text("role", { enum: ["owner", "admin", "member"] }).notNull().default("member"),
    joinedAt: timestamp("joined_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    /** Watermarks: everything up to this seq was delivered / read. Only ever raised (GREATEST). */
    deliveredSeq: bigint("delivered_seq", { mode: "number" }).notNull().default(0),
    readSeq: bigint("read_seq", { mode: "number" }).notNull().default(0),
    /** The member's mute (migrations/0014): null not muted, 'infinity' until unmuted, else until then. */
    mutedUntil: timestamp("muted_until", { withTimezone: true, mode: "date" }),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.userId] }),
    index("members_user_idx").on(t.userId, t.conversationId),
    check("members_role_ck", sql`${t.role} in ('owner', 'admin', 'member')`),
  ],
);

/**
 * Messages, hash-partitioned by conversation_id (8 partitions; migrations/0013_messages_partitioned.sql
 * makes them, as drizzle cannot declare partitioning; docs/architecture.md, "Schema and growth";
 * docs/operations.md, "Postgres past one machine"). Every query names conversation_id, so it
 * reads one partition; history and sync read ranges of (conversation_id, seq) straight off the
 * primary key. A unique index must hold the partition key, so the message id and the
 * (sender, clientMessageId) key are unique in `messageIds` and `messageKeys`.
 */
export const messages = pgTable(
  "messages",
  {
    id: uuid("id").notNull(),
    conversationId: uuid("conversation_id").notNull(),
    seq: bigint("seq", { mode: "number" }).notNull(),
    senderId: text("sender_id").notNull(),
    clientMessageId: uuid("client_message_id").notNull(),
    kind: text("kind", { enum: ["text", "image", "file", "audio", "video", "system"] }).notNull(),
    body: text("body"),
    replyToId: uuid("reply_to_id"),
    attachments: jsonb("attachments").$type<Attachment[]>(),
    createdAt: createdAt(),
    editedAt: timestamp("edited_at", { withTimezone: true, mode: "date" }),
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "date" }),
    /**
     * The first 16 bytes of sha256(id, body as sent), set by parley_persist_batch at insert and
     * never changed, so a retried send is compared with what was sent even after an edit or a
     * deletion (which removes the body). NULL for rows stored before migration 0006.
     */
    bodyDigest: bytea("body_digest"),
  },
  (t) => [
    primaryKey({ name: "messages_pkey", columns: [t.conversationId, t.seq] }),
    /**
     * Full-text search (migrations/0004_search_and_edits.sql says why it is shaped so): the conversation
     * and the body's words in one GIN index (btree_gin), 'simple' configuration.
     */
    index("messages_search_idx").using("gin", t.conversationId, sql`to_tsvector('simple'::regconfig, lower(${t.body} COLLATE "und-x-icu"))`),
    /** The unread counts' "own messages after the read watermark" (migrations/0009_own_unread_index.sql). */
    index("messages_sender_seq_idx").on(t.conversationId, t.senderId, t.seq),
  ],
);

/**
 * Idempotency: one message per (sender, clientMessageId), decided inside the writing
 * transaction (parley_persist_batch inserts here, ON CONFLICT, in the same statement as the
 * message). Hash-partitioned by sender_id; points at the message by (conversation_id, seq).
 */
export const messageKeys = pgTable(
  "message_keys",
  {
    senderId: text("sender_id").notNull(),
    clientMessageId: uuid("client_message_id").notNull(),
    conversationId: uuid("conversation_id").notNull(),
    seq: bigint("seq", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ name: "message_keys_pkey", columns: [t.senderId, t.clientMessageId] })],
);

/**
 * Where a message is, by its id alone (edits, deletions, reactions and replies name only the
 * id): hash-partitioned by id. docs/decisions/0056-message-id-lookup-table.md says why.
 */
export const messageIds = pgTable(
  "message_ids",
  {
    id: uuid("id").notNull(),
    conversationId: uuid("conversation_id").notNull(),
    seq: bigint("seq", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ name: "message_ids_pkey", columns: [t.id] })],
);

/** Hash-partitioned by conversation_id like messages: a message's reactions sit with it. */
export const reactions = pgTable(
  "reactions",
  {
    conversationId: uuid("conversation_id").notNull(),
    messageId: uuid("message_id").notNull(),
    userId: text("user_id").notNull(),
    emoji: text("emoji").notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ name: "reactions_pkey", columns: [t.conversationId, t.messageId, t.userId, t.emoji] }), index("reactions_user_idx").on(t.userId)],
);

/** Every safety and administration action, appended, never changed (migrations/0014). */
export const auditLog = pgTable(
  "audit_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    at: timestamp("at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    actorId: text("actor_id").notNull(),
    actorRole: text("actor_role").notNull(),
    action: text("action").notNull(),
    targetKind: text("target_kind").notNull(),
    targetId: text("target_id").notNull(),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index("audit_log_target_idx").on(t.targetKind, t.targetId, t.id)],
);

/** `blockerId` blocks `blockedId` (protocol.md, "Safety"). */
export const userBlocks = pgTable(
  "user_blocks",
  {
    blockerId: text("blocker_id").notNull(),
    blockedId: text("blocked_id").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.blockerId, t.blockedId] }),
    index("user_blocks_blocked_idx").on(t.blockedId, t.blockerId),
    check("user_blocks_not_self_ck", sql`${t.blockerId} <> ${t.blockedId}`),
  ],
);

/** The moderation queue: one report per (reporter, message). */
export const reports = pgTable(
  "reports",
  {
    id: uuid("id").primaryKey(),
    messageId: uuid("message_id").notNull(),
    conversationId: uuid("conversation_id").notNull(),
    reporterId: text("reporter_id").notNull(),
    reportedUserId: text("reported_user_id").notNull(),
    reason: text("reason", { enum: ["spam", "abuse", "harassment", "illegal", "other"] }).notNull(),
    note: text("note"),
    status: text("status", { enum: ["open", "resolved"] }).notNull().default("open"),
    action: text("action", { enum: ["dismiss", "delete_message", "ban_user"] }),
    resolvedBy: text("resolved_by"),
    resolvedAt: timestamp("resolved_at", { withTimezone: true, mode: "date" }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("reports_reporter_message_uq").on(t.reporterId, t.messageId),
    index("reports_status_idx").on(t.status, t.id),
  ],
);

/** A banned user; `until` null for a ban without end. An ended ban counts as none. */
export const userBans = pgTable("user_bans", {
  userId: text("user_id").primaryKey(),
  until: timestamp("until", { withTimezone: true, mode: "date" }),
  reason: text("reason"),
  bannedBy: text("banned_by").notNull(),
  createdAt: createdAt(),
});
