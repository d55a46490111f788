import type { DeliveredReceipt } from "@parley/bus";
import type { Sql } from "./client.js";

/** A member's read state after `markRead`, and which watermarks it moved. */
export interface ReadState {
  lastReadSeq: number;
  unreadCount: number;
  /** The read watermark moved (a read receipt is due). */
  readMoved: boolean;
  /** Reading implies delivery: the delivered watermark moved with it (a delivered receipt is due). */
  deliveredMoved: boolean;
  /**
   * Who hears the receipts: undefined for every member (the conversation's room); in a
   * conversation above `ReceiptAudience.aboveMembers`, only these users (see receiptAudience).
   */
  audience?: string[];
}

/**
 * Receipts in big conversations (docs/decisions/0035-receipts-in-big-rooms.md): above
 * `aboveMembers` members a watermark's receipt goes only to the senders of the messages it
 * passed over, the newest `maxMessages` of them (each sender's own other messages below are
 * covered by the watermark too). Everyone else can read any member's watermarks from the
 * conversation's members.
 */
/** The newest messages a watermark passed over whose senders hear it in a big conversation (bounds the look-up). */
export const RECEIPT_AUDIENCE_MAX_MESSAGES = 100;

export interface ReceiptAudience {
  aboveMembers: number;
  /** The newest messages a watermark passed over whose senders hear it; bounds the look-up. */
  maxMessages: number;
}

/**
 * Raises a member's read watermark to `seq` (clamped to the conversation's last seq; a lower
 * seq changes nothing) and the delivered watermark with it, and answers the read state.
 * Undefined when the user is not a member (or there is no such conversation).
 *
 * One statement, one snapshot:
 * - `cur` locks the member row, so the old watermarks it reads are the newest ones even when a
 *   concurrent read or delivery batch just moved them (READ COMMITTED re-reads a locked row);
 * - `upd` changes the row only when the read watermark moves, so `readMoved` is exact and two
 *   concurrent reads of the same seq emit one receipt, not two;
 * - the unread count reads messages in the same snapshot as `last_seq`, bounded by it, so it
 *   is the same number `sync` and `GET /v1/conversations` compute: last_seq − read_seq − the
 *   reader's own messages after read_seq.
 */
export async function markRead(
  sql: Sql,
  conversationId: string,
  userId: string,
  seq: number,
  audience?: ReceiptAudience,
): Promise<ReadState | undefined> {
  const [row] = await sql<
    {
      last_seq: number;
      old_read: number;
      old_delivered: number;
      new_read: number | null;
      new_delivered: number | null;
      own_unread: number;
      audience: string[] | null;
    }[]
  >`
    with cur as (
      select mb.read_seq, mb.delivered_seq, c.last_seq, c.member_count, least(${seq}::int8, c.last_seq) as target
      from members mb join conversations c on c.id = mb.conversation_id
      where mb.conversation_id = ${conversationId} and mb.user_id = ${userId}
      for update of mb
    ),
    upd as (
      update members mb
      set read_seq = cur.target, delivered_seq = greatest(mb.delivered_seq, cur.target)
      from cur
      where mb.conversation_id = ${conversationId} and mb.user_id = ${userId} and mb.read_seq < cur.target
      returning mb.read_seq, mb.delivered_seq
    )
    select cur.last_seq, cur.read_seq as old_read, cur.delivered_seq as old_delivered,
      upd.read_seq as new_read, upd.delivered_seq as new_delivered,
      (select count(*)::int from messages m
        where m.conversation_id = ${conversationId} and m.sender_id = ${userId}
          and m.seq > coalesce(upd.read_seq, cur.read_seq) and m.seq <= cur.last_seq) as own_unread,
      ${
        audience
          ? sql`case when upd.read_seq is not null and cur.member_count > ${audience.aboveMembers} then array(
              select distinct s.sender_id from (
                select m.sender_id from messages m
                where m.conversation_id = ${conversationId} and m.seq > cur.read_seq and m.seq <= upd.read_seq
                order by m.seq desc limit ${audience.maxMessages}
              ) s where s.sender_id <> ${userId}) end`
          : sql`null::text[]`
      } as audience
    from cur left join upd on true`;
  if (!row) return undefined;
  const lastReadSeq = row.new_read ?? row.old_read;
  return {
    lastReadSeq,
    unreadCount: Math.max(0, row.last_seq - lastReadSeq - row.own_unread),
    readMoved: row.new_read !== null,
    deliveredMoved: row.new_delivered !== null && row.new_delivered > row.old_delivered,
    ...(row.audience ? { audience: row.audience } : {}),
  };
}

/** A `message:delivered` watermark: the shape the receipts jobs carry (@parley/bus `DeliveredReceipt`). */
export type DeliveredWatermark = DeliveredReceipt;

/** A watermark that moved, and who hears its receipt (undefined: every member; see ReceiptAudience). */
export type MovedWatermark = DeliveredWatermark & { audience?: string[] };

/**
 * Applies many `message:delivered` watermarks in one statement and returns only those that
 * moved (with the value they moved to). Each is clamped to its conversation's last seq and
 * only ever raised; non-members and unknown conversations change nothing. The caller passes
 * at most one entry per (conversation, user): UPDATE … FROM applies one source row per target.
 *
 * Rows are locked in (conversation, user) order, so two batches touching the same members
 * (two delivery replicas) queue behind each other instead of deadlocking; the WHERE is
 * checked again on the locked, newest row, so a batch that lost a race returns nothing for it.
 */
export async function applyDelivered(
  sql: Sql,
  watermarks: readonly DeliveredWatermark[],
  audience?: ReceiptAudience,
): Promise<MovedWatermark[]> {
  if (watermarks.length === 0) return [];
  const rows = await sql<{ conversation_id: string; user_id: string; delivered_seq: number; audience: string[] | null }[]>`
    with v as (
      select * from unnest(
        ${watermarks.map((w) => w.conversationId)}::uuid[],
        ${watermarks.map((w) => w.userId)}::text[],
        ${watermarks.map((w) => w.seq)}::int8[]
      ) as v(cid, uid, seq)
    ),
    locked as (
      select mb.conversation_id, mb.user_id, least(v.seq, c.last_seq) as target, mb.delivered_seq as old_seq, c.member_count
      from v
      join members mb on mb.conversation_id = v.cid and mb.user_id = v.uid
      join conversations c on c.id = v.cid
      where mb.delivered_seq < least(v.seq, c.last_seq)
      order by mb.conversation_id, mb.user_id
      for update of mb
    ),
    moved as (
      update members mb set delivered_seq = locked.target
      from locked
      where mb.conversation_id = locked.conversation_id and mb.user_id = locked.user_id and mb.delivered_seq < locked.target
      returning mb.conversation_id, mb.user_id, mb.delivered_seq, locked.old_seq, locked.member_count
    )
    select mv.conversation_id, mv.user_id, mv.delivered_seq,
      ${
        audience
          ? sql`case when mv.member_count > ${audience.aboveMembers} then array(
              select distinct s.sender_id from (
                select m.sender_id from messages m
                where m.conversation_id = mv.conversation_id and m.seq > mv.old_seq and m.seq <= mv.delivered_seq
                order by m.seq desc limit ${audience.maxMessages}
              ) s where s.sender_id <> mv.user_id) end`
          : sql`null::text[]`
      } as audience
    from moved mv`;
  return rows.map((r) => ({
    conversationId: r.conversation_id,
    userId: r.user_id,
    seq: r.delivered_seq,
    ...(r.audience ? { audience: r.audience } : {}),
  }));
}

/** Members of the given conversations with their read watermark (who a new message may notify). */
export async function membersWithReadSeq(
  sql: Sql,
  conversationIds: readonly string[],
): Promise<{ conversationId: string; userId: string; readSeq: number }[]> {
  if (conversationIds.length === 0) return [];
  const rows = await sql<{ conversation_id: string; user_id: string; read_seq: number }[]>`
    select conversation_id, user_id, read_seq from members where conversation_id = any(${conversationIds as string[]}::uuid[])`;
  return rows.map((r) => ({ conversationId: r.conversation_id, userId: r.user_id, readSeq: r.read_seq }));
}

/** A member's read watermark, or undefined when they are not a member. */
export async function readSeqOf(sql: Sql, conversationId: string, userId: string): Promise<number | undefined> {
  const [row] = await sql<{ read_seq: number }[]>`
    select read_seq from members where conversation_id = ${conversationId} and user_id = ${userId}`;
  return row?.read_seq;
}
