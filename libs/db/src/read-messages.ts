import { LIMITS, type Message, type SyncConversation } from "@parley/protocol";
import type { Sql } from "./client.js";
import { messageColumns, toMessage, type MessageRow } from "./message-row.js";

export interface HistoryQuery {
  conversationId: string;
  beforeSeq?: number | undefined;
  afterSeq?: number | undefined;
  limit?: number | undefined;
}

/**
 * A page of a conversation, ascending. With `afterSeq` it pages forwards, otherwise backwards
 * from `beforeSeq` (or the newest message). `hasMore` says whether the next page in that
 * direction has messages. Seqs are gap-free, so pages are ranges of the primary key.
 */
export async function readHistory(sql: Sql, q: HistoryQuery): Promise<{ messages: Message[]; hasMore: boolean }> {
  const limit = q.limit ?? LIMITS.historyDefaultLimit;
  const forwards = q.afterSeq !== undefined;
  const lower = q.afterSeq ?? 0;
  const upper = q.beforeSeq ?? Number.MAX_SAFE_INTEGER;
  const rows = await sql<MessageRow[]>`
    select ${messageColumns(sql)}
    from messages m left join users u on u.id = m.sender_id
    where m.conversation_id = ${q.conversationId} and m.seq > ${lower} and m.seq < ${upper}
    order by m.seq ${forwards ? sql`asc` : sql`desc`}
    limit ${limit + 1}`;
  const hasMore = rows.length > limit;
  const page = rows.slice(0, limit);
  if (!forwards) page.reverse();
  return { messages: page.map(toMessage), hasMore };
}

export interface SyncQuery {
  userId: string;
  cursors?: Record<string, number> | undefined;
  limit?: number | undefined;
}

/**
 * Every conversation of the user with its read state and the messages the client lacks.
 * Seqs are gap-free, so how many messages a conversation owes is known from `last_seq`
 * alone: the 2,000-message budget is shared out first, then one query reads exactly those
 * ranges off the primary key.
 */
export async function readSync(sql: Sql, q: SyncQuery): Promise<SyncConversation[]> {
  const limit = q.limit ?? LIMITS.syncDefaultLimit;
  const states = await sql<{ id: string; last_seq: number; read_seq: number; own_unread: number }[]>`
    select c.id, c.last_seq, mb.read_seq,
      (select count(*)::int from messages om
        where om.conversation_id = c.id and om.seq > mb.read_seq and om.sender_id = ${q.userId}) as own_unread
    from members mb join conversations c on c.id = mb.conversation_id
    where mb.user_id = ${q.userId}
    order by c.last_message_at desc nulls last, c.id`;

  let budget = LIMITS.syncMaxTotal;
  const ranges = states.map((s) => {
    const cursor = q.cursors?.[s.id];
    let lo: number;
    let hi: number;
    if (cursor !== undefined) {
      lo = cursor + 1;
      hi = Math.min(s.last_seq, cursor + limit);
    } else {
      hi = s.last_seq;
      lo = Math.max(1, s.last_seq - limit + 1);
    }
    let count = Math.max(0, hi - lo + 1);
    const cut = count > budget;
    if (cut) {
      count = budget;
      if (cursor !== undefined) hi = lo + count - 1;
      else lo = hi - count + 1;
    }
    budget -= count;
    const hasMore = cursor !== undefined ? hi < s.last_seq : lo > 1 && s.last_seq > 0;
    return { state: s, lo, hi, count, hasMore: hasMore || cut };
  });

  const wanted = ranges.filter((r) => r.count > 0);
  const byConversation = new Map<string, Message[]>();
  if (wanted.length > 0) {
    const rows = await sql<MessageRow[]>`
      select ${messageColumns(sql)}
      from unnest(${wanted.map((r) => r.state.id)}::uuid[], ${wanted.map((r) => r.lo)}::int8[], ${wanted.map((r) => r.hi)}::int8[]) as r(cid, lo, hi)
      join messages m on m.conversation_id = r.cid and m.seq between r.lo and r.hi
      left join users u on u.id = m.sender_id
      order by m.conversation_id, m.seq`;
    for (const row of rows) {
      const list = byConversation.get(row.conversation_id) ?? [];
      list.push(toMessage(row));
      byConversation.set(row.conversation_id, list);
    }
  }
  return ranges.map((r) => ({
    id: r.state.id,
    lastSeq: r.state.last_seq,
    lastReadSeq: r.state.read_seq,
    unreadCount: Math.max(0, r.state.last_seq - r.state.read_seq - r.state.own_unread),
    messages: byConversation.get(r.state.id) ?? [],
    hasMore: r.hasMore,
  }));
}

/** One message by id as it is now (a tombstone if deleted), or undefined. */
export async function readMessageById(sql: Sql, id: string): Promise<Message | undefined> {
  const [row] = await sql<MessageRow[]>`
    select ${messageColumns(sql)}
    from messages m left join users u on u.id = m.sender_id
    where m.id = ${id}`;
  return row ? toMessage(row) : undefined;
}
