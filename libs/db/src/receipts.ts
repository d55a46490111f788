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
export async function markRead(sql: Sql, conversationId: string, userId: string, seq: number): Promise<ReadState | undefined> {
  const [row] = await sql<
    { last_seq: number; old_read: number; old_delivered: number; new_read: number | null; new_delivered: number | null; own_unread: number }[]
  >`
    with cur as (
      select mb.read_seq, mb.delivered_seq, c.last_seq, least(${seq}::int8, c.last_seq) as target
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
          and m.seq > coalesce(upd.read_seq, cur.read_seq) and m.seq <= cur.last_seq) as own_unread
    from cur left join upd on true`;
  if (!row) return undefined;
  const lastReadSeq = row.new_read ?? row.old_read;
  return {
    lastReadSeq,
    unreadCount: Math.max(0, row.last_seq - lastReadSeq - row.own_unread),
    readMoved: row.new_read !== null,
    deliveredMoved: row.new_delivered !== null && row.new_delivered > row.old_delivered,
  };
}

/** A `message:delivered` watermark: the shape the receipts jobs carry (@parley/bus `DeliveredReceipt`). */
export type DeliveredWatermark = DeliveredReceipt;

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
export async function applyDelivered(sql: Sql, watermarks: readonly DeliveredWatermark[]): Promise<DeliveredWatermark[]> {
  if (watermarks.length === 0) return [];
  const rows = await sql<{ conversation_id: string; user_id: string; delivered_seq: number }[]>`
    with v as (
      select * from unnest(
        ${watermarks.map((w) => w.conversationId)}::uuid[],
        ${watermarks.map((w) => w.userId)}::text[],
        ${watermarks.map((w) => w.seq)}::int8[]
      ) as v(cid, uid, seq)
    ),
    locked as (
      select mb.conversation_id, mb.user_id, least(v.seq, c.last_seq) as target
      from v
      join members mb on mb.conversation_id = v.cid and mb.user_id = v.uid
      join conversations c on c.id = v.cid
      where mb.delivered_seq < least(v.seq, c.last_seq)
      order by mb.conversation_id, mb.user_id
      for update of mb
    )
    update members mb set delivered_seq = locked.target
    from locked
    where mb.conversation_id = locked.conversation_id and mb.user_id = locked.user_id and mb.delivered_seq < locked.target
    returning mb.conversation_id, mb.user_id, mb.delivered_seq`;
  return rows.map((r) => ({ conversationId: r.conversation_id, userId: r.user_id, seq: r.delivered_seq }));
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
