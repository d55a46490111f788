import type { Message } from "@parley/protocol";
import type { Sql } from "./client.js";
import { readMessagesAt } from "./message-row.js";

/** What an erased user's display name becomes. */
export const ERASED_DISPLAY_NAME = "Deleted user";

/**
 * One batch of an erasure's messages: the user's messages after `afterClientMessageId` (in the
 * order of the (sender_id, client_message_id) index, so each batch is one bounded index range
 * and a restart can go on from where the last batch ended) become tombstones: body,
 * attachments and the sent body's digest gone, `deleted_at` set (kept if set), and the
 * reactions on them removed. The seq stays: a tombstone keeps its place. Leaving the body NULL
 * also takes the row out of the search index's expression. Repeating a batch changes nothing.
 *
 * Returns how many rows the batch covered, where the next one starts (undefined: done), and
 * the rows it made tombstones, as members' clients are told of them (`message:updated`).
 */
export async function eraseMessagesBatch(
  sql: Sql,
  userId: string,
  afterClientMessageId: string | undefined,
  limit: number,
): Promise<ErasedBatch> {
  const after = afterClientMessageId ?? "00000000-0000-0000-0000-000000000000";
  return sql.begin(async (tx) => {
    // The user's messages in the order of their dedupe keys (message_keys, partitioned by sender:
    // one partition, its primary key), each found in messages by (conversation_id, seq).
    const batch = await tx<{ id: string; conversation_id: string; seq: number; client_message_id: string }[]>`
      select m.id, m.conversation_id, m.seq, k.client_message_id
      from (
        select conversation_id, seq, client_message_id from message_keys
        where sender_id = ${userId} and client_message_id > ${after}::uuid
        order by client_message_id
        limit ${limit}
      ) k
      join messages m on m.conversation_id = k.conversation_id and m.seq = k.seq
      order by k.client_message_id`;
    if (batch.length === 0) return { covered: 0, tombstoned: 0, next: undefined, messages: [] };
    const conversations = batch.map((b) => b.conversation_id);
    const seqs = batch.map((b) => b.seq);
    const ids = batch.map((b) => b.id);
    const tombstoned = await tx<{ conversation_id: string; seq: number }[]>`
      update messages set body = null, attachments = null, body_digest = null, deleted_at = coalesce(deleted_at, now())
      where (conversation_id, seq) in (select * from unnest(${conversations}::uuid[], ${seqs}::bigint[]))
        and (body is not null or attachments is not null or body_digest is not null or deleted_at is null)
      returning conversation_id, seq`;
    await tx`delete from reactions where (conversation_id, message_id) in (select * from unnest(${conversations}::uuid[], ${ids}::uuid[]))`;
    const last = batch[batch.length - 1]!.client_message_id;
    // The new tombstones as the reads return them (the name already replaced, no reactions left).
    const messages = await readMessagesAt(tx as unknown as Sql, tombstoned);
    return { covered: batch.length, tombstoned: tombstoned.length, next: batch.length < limit ? undefined : last, messages };
  }) as Promise<ErasedBatch>;
}

export interface ErasedBatch {
  covered: number;
  tombstoned: number;
  next: string | undefined;
  /** The messages this batch made tombstones (none for rows that already were). */
  messages: Message[];
}

/** Up to `limit` of the user's reactions on others' messages removed; 0 when none are left. */
export async function deleteUserReactionsBatch(sql: Sql, userId: string, limit: number): Promise<number> {
  const rows = await sql`
    delete from reactions where (conversation_id, message_id, user_id, emoji) in (
      select conversation_id, message_id, user_id, emoji from reactions where user_id = ${userId} limit ${limit})
    returning message_id`;
  return rows.length;
}

/**
 * Up to `limit` of the user's memberships removed (the member counts follow: 0011's triggers);
 * the conversations they left, for the caller to drop cached membership answers; none: done.
 */
export async function deleteUserMembershipsBatch(sql: Sql, userId: string, limit: number): Promise<string[]> {
  const rows = await sql<{ conversation_id: string }[]>`
    delete from members where user_id = ${userId} and conversation_id in (
      select conversation_id from members where user_id = ${userId} limit ${limit})
    returning conversation_id`;
  return rows.map((r) => r.conversation_id);
}

/** The display name replaced; the row stays, so the user's tombstones still name a sender. */
export async function replaceDisplayName(sql: Sql, userId: string): Promise<void> {
  await sql`update users set display_name = ${ERASED_DISPLAY_NAME}, updated_at = now() where id = ${userId}`;
}

/** Every block the user made or was the object of (both directions: the user is gone). */
export async function deleteUserBlocks(sql: Sql, userId: string): Promise<number> {
  const rows = await sql`delete from user_blocks where blocker_id = ${userId} or blocked_id = ${userId} returning 1`;
  return rows.length;
}

/** The notes the user wrote on reports they filed (their text); the reports stay for the moderators. */
export async function clearUserReportNotes(sql: Sql, userId: string): Promise<number> {
  const rows = await sql`update reports set note = null where reporter_id = ${userId} and note is not null returning 1`;
  return rows.length;
}
