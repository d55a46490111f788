import type { Conversation, ConversationKind, ConversationSummary, Member, MemberRole } from "@parley/protocol";
import { toIso } from "./timestamps.js";
import type { Sql } from "./client.js";
import { messageColumns, toMessage, type MessageRow } from "./message-row.js";
import { ensureUsers } from "./users.js";

interface ConversationRow {
  id: string;
  kind: ConversationKind;
  title: string | null;
  created_by: string;
  created_at: Date | string;
  last_seq: number;
  /** Selected where the whole conversation is answered (get, update), not in lists. */
  retention_days?: number | null;
}

const toConversation = (r: ConversationRow): Conversation => ({
  id: r.id,
  kind: r.kind,
  title: r.title,
  createdBy: r.created_by,
  createdAt: toIso(r.created_at),
  lastSeq: r.last_seq,
  ...(r.retention_days !== undefined ? { retentionDays: r.retention_days } : {}),
});

/** Sorted pair, JSON-encoded so no user id can forge a separator. */
export const directKeyOf = (a: string, b: string) => JSON.stringify([a, b].sort());

export interface CreateConversation {
  id: string;
  kind: ConversationKind;
  title?: string | undefined;
  createdBy: string;
  memberIds: readonly string[];
}

/** Caps on membership, checked inside the writing transaction (none: unlimited). */
export interface MembershipLimits {
  /** Members of one conversation at most. */
  maxMembers: number;
  /** Conversations one user belongs to at most. */
  maxConversationsPerUser: number;
}

/** A membership change refused because it would pass a cap of `MembershipLimits`; nothing was changed. */
export class MembershipLimitError extends Error {
  override readonly name = "MembershipLimitError";
  constructor(
    readonly limit: "members_per_conversation" | "conversations_per_user",
    message: string,
  ) {
    super(message);
  }
}

/** pg_advisory_xact_lock's first key for "one user's membership count" (the second is hashtext(user id)). */
const USER_MEMBERSHIPS_LOCK = 7406154;

/**
 * Checks the caps after rows were inserted, inside their transaction, and throws (rolling it
 * back) when one is passed. Exact under concurrency:
 * - `member_count` is kept by a trigger that updates the conversation's row (0009), so two
 *   transactions adding to one conversation queue on that row and the second sees the first's count;
 * - per-user counts are taken under a transaction lock per user (taken by `lockUsers` before
 *   the insert), so two conversations adding the same user queue too.
 * A user's count reads at most `maxConversationsPerUser + 1` index entries, whatever the user
 * was put into: bounded work per added user.
 */
async function checkLimits(tx: Sql, conversationId: string, added: readonly string[], limits: MembershipLimits): Promise<void> {
  if (added.length === 0) return;
  const [row] = await tx<{ member_count: number }[]>`select member_count from conversations where id = ${conversationId}`;
  if (row && row.member_count > limits.maxMembers) {
    throw new MembershipLimitError("members_per_conversation", `a conversation has at most ${limits.maxMembers} members`);
  }
  const over = await tx<{ user_id: string }[]>`
    select u.user_id from unnest(${added as string[]}::text[]) as u(user_id)
    where (select count(*) from (
      select 1 from members m where m.user_id = u.user_id limit ${limits.maxConversationsPerUser + 1}
    ) n) > ${limits.maxConversationsPerUser}
    limit 1`;
  if (over[0]) {
    throw new MembershipLimitError("conversations_per_user", `${over[0].user_id} already belongs to ${limits.maxConversationsPerUser} conversations, the most a user may`);
  }
}

/** Transaction locks on the users' membership counts, in one order (two adds never deadlock). */
async function lockUsers(tx: Sql, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  await tx`
    select pg_advisory_xact_lock(${USER_MEMBERSHIPS_LOCK}, h)
    from (select distinct hashtext(u) as h from unnest(${userIds as string[]}::text[]) as u order by 1) l`;
}

/**
 * Creates a conversation with its members; the creator is always the owner. A direct
 * conversation between two users exists once: asking again returns it (`created: false`).
 */
export async function createConversation(
  sql: Sql,
  input: CreateConversation,
  limits?: MembershipLimits,
): Promise<{ conversation: Conversation; created: boolean }> {
  const memberIds = [...new Set([input.createdBy, ...input.memberIds])];
  const directKey = input.kind === "direct" ? directKeyOf(memberIds[0]!, memberIds[1] ?? memberIds[0]!) : null;
  return sql.begin(async (txRaw) => {
    const tx = txRaw as unknown as Sql;
    await ensureUsers(tx, memberIds);
    const inserted = await tx<ConversationRow[]>`
      insert into conversations (id, kind, title, created_by, direct_key)
      values (${input.id}, ${input.kind}, ${input.title ?? null}, ${input.createdBy}, ${directKey})
      on conflict (direct_key) where direct_key is not null do nothing
      returning id, kind, title, created_by, created_at, last_seq`;
    const row = inserted[0];
    if (!row) {
      const [existing] = await tx<ConversationRow[]>`
        select id, kind, title, created_by, created_at, last_seq from conversations where direct_key = ${directKey}`;
      return { conversation: await withMembers(tx, toConversation(existing!)), created: false };
    }
    const roles = memberIds.map((id) => (id === input.createdBy ? "owner" : "member"));
    if (limits) await lockUsers(tx, memberIds);
    await tx`
      insert into members (conversation_id, user_id, role)
      select ${row.id}, user_id, role from unnest(${memberIds}::text[], ${roles}::text[]) as t(user_id, role)`;
    if (limits) await checkLimits(tx, row.id, memberIds, limits);
    return { conversation: await withMembers(tx, toConversation(row)), created: true };
  });
}

export async function getConversation(sql: Sql, id: string): Promise<Conversation | undefined> {
  const [row] = await sql<ConversationRow[]>`
    select id, kind, title, created_by, created_at, last_seq, retention_days from conversations where id = ${id}`;
  return row ? withMembers(sql, toConversation(row)) : undefined;
}

async function withMembers(sql: Sql, conversation: Conversation): Promise<Conversation> {
  const rows = await sql<
    { user_id: string; display_name: string | null; role: MemberRole; joined_at: Date | string; delivered_seq: number; read_seq: number }[]
  >`
    select mb.user_id, u.display_name, mb.role, mb.joined_at, mb.delivered_seq, mb.read_seq
    from members mb left join users u on u.id = mb.user_id
    where mb.conversation_id = ${conversation.id}
    order by mb.joined_at, mb.user_id`;
  const members: Member[] = rows.map((r) => ({
    userId: r.user_id,
    displayName: r.display_name ?? r.user_id,
    role: r.role,
    joinedAt: toIso(r.joined_at),
    deliveredSeq: r.delivered_seq,
    readSeq: r.read_seq,
  }));
  return { ...conversation, members };
}

/** The caller's role in a conversation, or undefined when not a member (or no such conversation). */
export async function memberRole(sql: Sql, conversationId: string, userId: string): Promise<MemberRole | undefined> {
  const [row] = await sql<{ role: MemberRole }[]>`
    select role from members where conversation_id = ${conversationId} and user_id = ${userId}`;
  return row?.role;
}

/** Which of these users are members of the conversation (one look-up of the primary key each). */
export async function membersAmong(sql: Sql, conversationId: string, userIds: readonly string[]): Promise<string[]> {
  if (userIds.length === 0) return [];
  const rows = await sql<{ user_id: string }[]>`
    select user_id from members where conversation_id = ${conversationId} and user_id = any(${userIds as string[]}::text[])`;
  return rows.map((r) => r.user_id);
}

export async function conversationIdsOf(sql: Sql, userId: string): Promise<string[]> {
  const rows = await sql<{ conversation_id: string }[]>`
    select conversation_id from members where user_id = ${userId}`;
  return rows.map((r) => r.conversation_id);
}

export function renameConversation(sql: Sql, id: string, title: string): Promise<Conversation | undefined> {
  return updateConversation(sql, id, { title });
}

/**
 * Sets what is given: the title, and the retention (`retentionDays: null` goes back to
 * MESSAGE_RETENTION_DAYS; absent leaves it). A shorter retention takes effect at the next sweep.
 */
export async function updateConversation(
  sql: Sql,
  id: string,
  change: { title?: string | undefined; retentionDays?: number | null | undefined },
): Promise<Conversation | undefined> {
  const setRetention = change.retentionDays !== undefined;
  const [row] = await sql<ConversationRow[]>`
    update conversations
    set title = coalesce(${change.title ?? null}::text, title),
        retention_days = case when ${setRetention}::boolean then ${change.retentionDays ?? null}::integer else retention_days end
    where id = ${id}
    returning id, kind, title, created_by, created_at, last_seq, retention_days`;
  return row ? withMembers(sql, toConversation(row)) : undefined;
}

/**
 * Adds members (idempotent); returns the ids that were not members before. With `limits`, an
 * add that would pass one throws MembershipLimitError and adds no one.
 */
export async function addMembers(sql: Sql, conversationId: string, userIds: readonly string[], limits?: MembershipLimits): Promise<string[]> {
  return sql.begin(async (txRaw) => {
    const tx = txRaw as unknown as Sql;
    await ensureUsers(tx, userIds);
    if (limits) await lockUsers(tx, userIds);
    const rows = await tx<{ user_id: string }[]>`
      insert into members (conversation_id, user_id, role)
      select ${conversationId}, user_id, 'member' from unnest(${userIds as string[]}::text[]) as t(user_id)
      on conflict do nothing
      returning user_id`;
    const added = rows.map((r) => r.user_id);
    if (limits) await checkLimits(tx, conversationId, added, limits);
    return added;
  });
}

export async function removeMember(sql: Sql, conversationId: string, userId: string): Promise<boolean> {
  const rows = await sql`delete from members where conversation_id = ${conversationId} and user_id = ${userId} returning 1`;
  return rows.length > 0;
}

interface SummaryRow extends ConversationRow {
  read_seq: number;
  /** The row's sort position as text with Postgres' full microsecond precision (see the cursor). */
  sort_at: string;
  own_unread: number;
}

/**
 * The caller's conversations, most recently active first, with read state and last message.
 * The cursor is opaque to clients: the position (last activity, id) of the page's last row.
 * It keeps microseconds: rounded to a JS Date's milliseconds, rows created in the same
 * millisecond as the page's last row but sorting after it would fall between two pages.
 */
export async function listConversations(
  sql: Sql,
  userId: string,
  opts: { cursor?: string | undefined; limit: number },
): Promise<{ conversations: ConversationSummary[]; nextCursor: string | null }> {
  const after = opts.cursor ? decodeCursor(opts.cursor) : undefined;
  const rows = await sql<SummaryRow[]>`
    select c.id, c.kind, c.title, c.created_by, c.created_at, c.last_seq, mb.read_seq,
      to_char(coalesce(c.last_message_at, c.created_at) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as sort_at,
      (select count(*)::int from messages om
        where om.conversation_id = c.id and om.seq > mb.read_seq and om.sender_id = ${userId}) as own_unread
    from members mb join conversations c on c.id = mb.conversation_id
    where mb.user_id = ${userId}
    ${
      after
        ? sql`and (coalesce(c.last_message_at, c.created_at), c.id) < (${after.at}::timestamptz, ${after.id}::uuid)`
        : sql``
    }
    order by coalesce(c.last_message_at, c.created_at) desc, c.id desc
    limit ${opts.limit + 1}`;
  const page = rows.slice(0, opts.limit);
  const lastIds = page.filter((r) => r.last_seq > 0);
  const lastMessages = new Map<string, ReturnType<typeof toMessage>>();
  if (lastIds.length > 0) {
    const msgRows = await sql<MessageRow[]>`
      select ${messageColumns(sql)}
      from unnest(${lastIds.map((r) => r.id)}::uuid[], ${lastIds.map((r) => r.last_seq)}::int8[]) as l(cid, seq)
      join messages m on m.conversation_id = l.cid and m.seq = l.seq
      left join users u on u.id = m.sender_id`;
    for (const r of msgRows) lastMessages.set(r.conversation_id, toMessage(r));
  }
  const conversations = page.map((r) => ({
    ...toConversation(r),
    lastReadSeq: r.read_seq,
    unreadCount: Math.max(0, r.last_seq - r.read_seq - r.own_unread),
    lastMessage: lastMessages.get(r.id) ?? null,
  }));
  const last = page[page.length - 1];
  const nextCursor = rows.length > opts.limit && last ? encodeCursor(last.sort_at, last.id) : null;
  return { conversations, nextCursor };
}

const encodeCursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString("base64url");

function decodeCursor(cursor: string): { at: string; id: string } | undefined {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString()) as [unknown, unknown];
    if (typeof at === "string" && typeof id === "string" && !Number.isNaN(Date.parse(at)) && /^[0-9a-f-]{36}$/i.test(id)) {
      return { at, id };
    }
  } catch {
    // An unreadable cursor is the caller's mistake; fall through to the VALIDATION below.
  }
  return undefined;
}

export function isValidCursor(cursor: string): boolean {
  return decodeCursor(cursor) !== undefined;
}
