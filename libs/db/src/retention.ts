import type { Message } from "@parley/protocol";
import type { Sql } from "./client.js";
import { readMessagesAt } from "./message-row.js";

export interface RetentionBatch {
  retainedThroughSeq: number;
  tombstoned: number;
  more: boolean;
  /** The messages this batch made tombstones, as members' clients are told of them (`message:updated`). */
  messages: Message[];
}

export interface RetentionCandidate {
  id: string;
  days: number;
  retainedThroughSeq: number;
  lastSeq: number;
}

/**
 * Conversations that may hold messages past their retention (their own `retention_days`, else
 * `defaultDays`; none when both are unset), in id order after `afterId`, at most `limit`. A
 * conversation younger than its retention, or with nothing left after its retained seq, is not
 * one.
 */
export async function retentionCandidates(sql: Sql, defaultDays: number | undefined, afterId: string | undefined, limit: number): Promise<RetentionCandidate[]> {
  const rows = await sql<{ id: string; days: number; retained_through_seq: number; last_seq: number }[]>`
    select id, coalesce(retention_days, ${defaultDays ?? null}::integer) as days, retained_through_seq, last_seq
    from conversations
    where id > ${afterId ?? "00000000-0000-0000-0000-000000000000"}::uuid
      and coalesce(retention_days, ${defaultDays ?? null}::integer) is not null
      and retained_through_seq < last_seq
      and created_at < now() - make_interval(days => coalesce(retention_days, ${defaultDays ?? null}::integer))
    order by id
    limit ${limit}`;
  return rows.map((r) => ({ id: r.id, days: r.days, retainedThroughSeq: Number(r.retained_through_seq), lastSeq: Number(r.last_seq) }));
}

/**
 * One batch of one conversation's retention: of the `limit` seqs after its retained seq (one
 * range of the primary key), those up to the newest one past its retention become tombstones
 * (body, attachments and reactions gone, which also takes them out of the search index), and
 * the retained seq moves there. Seqs stay: tombstones keep their places, so the sequence has no
 * gaps. A conversation's seqs are committed in time order (its row is locked for each commit),
 * so everything below an expired message is expired too, give or take the milliseconds two
 * commits' clocks differ by.
 *
 * Returns the new retained seq, how many rows became tombstones, and `more: true` when the
 * whole range was past its retention (the next batch may find more).
 */
export async function tombstoneExpiredBatch(
  sql: Sql,
  c: { id: string; days: number; retainedThroughSeq: number },
  limit: number,
): Promise<RetentionBatch> {
  return sql.begin(async (tx) => {
    const from = c.retainedThroughSeq;
    const [edge] = await tx<{ upto: number | null }[]>`
      select max(seq) filter (where created_at < now() - make_interval(days => ${c.days})) as upto
      from messages
      where conversation_id = ${c.id} and seq > ${from} and seq <= ${from + limit}`;
    const upto = edge?.upto === null || edge?.upto === undefined ? undefined : Number(edge.upto);
    if (upto === undefined) return { retainedThroughSeq: from, tombstoned: 0, more: false, messages: [] };
    const done = await tx<{ conversation_id: string; seq: number }[]>`
      update messages set body = null, attachments = null, deleted_at = coalesce(deleted_at, now())
      where conversation_id = ${c.id} and seq > ${from} and seq <= ${upto}
        and (body is not null or attachments is not null or deleted_at is null)
      returning conversation_id, seq`;
    await tx`
      delete from reactions where conversation_id = ${c.id} and message_id in (
        select id from messages where conversation_id = ${c.id} and seq > ${from} and seq <= ${upto})`;
    await tx`update conversations set retained_through_seq = greatest(retained_through_seq, ${upto}) where id = ${c.id}`;
    // The tombstones as the other reads return them (no reactions left), for the live announcement.
    const messages = await readMessagesAt(tx as unknown as Sql, [...done].sort((a, b) => Number(a.seq) - Number(b.seq)));
    return { retainedThroughSeq: upto, tombstoned: done.length, more: upto === from + limit, messages };
  }) as Promise<RetentionBatch>;
}

/** When the oldest message of the conversation not yet a tombstone was made (for the lag). */
export async function oldestKept(sql: Sql, conversationId: string, afterSeq: number): Promise<Date | undefined> {
  const [row] = await sql<{ created_at: Date }[]>`
    select created_at from messages where conversation_id = ${conversationId} and seq = ${afterSeq + 1}`;
  return row?.created_at;
}
