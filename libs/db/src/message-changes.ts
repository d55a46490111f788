import { LIMITS, type MemberRole, type Message } from "@parley/protocol";
import type { Sql } from "./client.js";
import { messageColumns, toMessage, type MessageRow } from "./message-row.js";

/**
 * What became of a change to a stored message. The caller maps it to the contract's codes:
 * - `not_found`: no such message, or the caller is not a member of its conversation (the
 *   two are answered alike so a message id reveals nothing to outsiders);
 * - `forbidden`: a member who may not make this change;
 * - `deleted`: the message is a tombstone and cannot change any more;
 * - `too_many`: the user's reactions on this message are at the limit.
 */
export type MessageChange<T> =
  | ({ status: "ok" } & T)
  | { status: "not_found" }
  | { status: "forbidden" }
  | { status: "deleted" }
  | { status: "too_many" };

/** `changed: false` when the request changed nothing (a repeat): nothing is to be announced. */
export type MessageUpdate = MessageChange<{ message: Message; changed: boolean }>;
export type ReactionUpdate = MessageChange<{ conversationId: string; changed: boolean }>;

interface Target {
  conversation_id: string;
  seq: number;
  sender_id: string;
  deleted: boolean;
  role: MemberRole | null;
}

/**
 * The message and the caller's role in its conversation, locked for the rest of the
 * transaction: `update` against edits and deletions of the same message (so an edit never
 * lands on a tombstone), `share` for reactions (so a reaction never lands on one either).
 */
async function lockTarget(tx: Sql, messageId: string, userId: string, mode: "update" | "share"): Promise<Target | undefined> {
  const [row] = await tx<Target[]>`
    select m.conversation_id, m.seq, m.sender_id, m.deleted_at is not null as deleted, mb.role
    from messages m
    left join members mb on mb.conversation_id = m.conversation_id and mb.user_id = ${userId}
    where m.id = ${messageId}
    ${mode === "update" ? tx`for update of m` : tx`for share of m`}`;
  return row;
}

async function readMessage(tx: Sql, conversationId: string, seq: number): Promise<Message> {
  const [row] = await tx<MessageRow[]>`
    select ${messageColumns(tx)}
    from messages m left join users u on u.id = m.sender_id
    where m.conversation_id = ${conversationId} and m.seq = ${seq}`;
  return toMessage(row!);
}

const inTransaction = <T>(sql: Sql, work: (tx: Sql) => Promise<T>): Promise<T> =>
  sql.begin((tx) => work(tx as unknown as Sql)) as Promise<T>;

/**
 * Replaces the body of the caller's own message and sets `edited_at`. The same body again
 * changes nothing (a retried edit is answered with the stored message and not announced twice).
 */
export function editMessage(sql: Sql, input: { messageId: string; userId: string; body: string }): Promise<MessageUpdate> {
  return inTransaction(sql, async (tx) => {
    const t = await lockTarget(tx, input.messageId, input.userId, "update");
    if (!t || !t.role) return { status: "not_found" };
    if (t.sender_id !== input.userId) return { status: "forbidden" };
    if (t.deleted) return { status: "deleted" };
    const updated = await tx`
      update messages set body = ${input.body}, edited_at = now()
      where conversation_id = ${t.conversation_id} and seq = ${t.seq} and body is distinct from ${input.body}
      returning 1`;
    return { status: "ok", message: await readMessage(tx, t.conversation_id, t.seq), changed: updated.length > 0 };
  });
}

/**
 * Turns a message into a tombstone: the body, the attachments and the reactions are removed
 * from the row (not hidden), `deleted_at` is set. The sender may delete their message, and an
 * owner or admin any message of the conversation; with `moderator`, anyone (the caller checked
 * the platform role). Deleting a tombstone again changes nothing.
 *
 * The reactions go in a second statement: under READ COMMITTED it takes a new snapshot, after
 * the row lock was granted, so it also sees a reaction committed while this waited for it.
 */
export function deleteMessage(sql: Sql, input: { messageId: string; userId: string; moderator?: boolean }): Promise<MessageUpdate> {
  return inTransaction(sql, async (tx) => {
    const t = await lockTarget(tx, input.messageId, input.userId, "update");
    if (!t) return { status: "not_found" };
    // A moderator (an admin resolving a report) deletes any message, member or not.
    if (!input.moderator) {
      if (!t.role) return { status: "not_found" };
      if (t.sender_id !== input.userId && t.role !== "owner" && t.role !== "admin") return { status: "forbidden" };
    }
    if (!t.deleted) {
      await tx`
        update messages set body = null, attachments = null, deleted_at = now()
        where conversation_id = ${t.conversation_id} and seq = ${t.seq}`;
      await tx`delete from reactions where message_id = ${input.messageId}`;
    }
    return { status: "ok", message: await readMessage(tx, t.conversation_id, t.seq), changed: !t.deleted };
  });
}

/**
 * Adds the caller's reaction; idempotent (`changed: false` when it was there). A user has at
 * most `LIMITS.reactionsPerUserPerMessage` reactions on one message (concurrent adds by the
 * same user may pass it by a few: the count is not locked, the bound is on payload size).
 */
export function addReaction(sql: Sql, input: { messageId: string; userId: string; emoji: string }): Promise<ReactionUpdate> {
  return inTransaction(sql, async (tx) => {
    const t = await lockTarget(tx, input.messageId, input.userId, "share");
    if (!t || !t.role) return { status: "not_found" };
    if (t.deleted) return { status: "deleted" };
    const [state] = await tx<{ mine: number; present: boolean }[]>`
      select count(*)::int as mine, coalesce(bool_or(emoji = ${input.emoji}), false) as present
      from reactions where message_id = ${input.messageId} and user_id = ${input.userId}`;
    if (state!.present) return { status: "ok", conversationId: t.conversation_id, changed: false };
    if (state!.mine >= LIMITS.reactionsPerUserPerMessage) return { status: "too_many" };
    const inserted = await tx`
      insert into reactions (message_id, user_id, emoji) values (${input.messageId}, ${input.userId}, ${input.emoji})
      on conflict do nothing
      returning 1`;
    return { status: "ok", conversationId: t.conversation_id, changed: inserted.length > 0 };
  });
}

/** Removes the caller's reaction; idempotent (`changed: false` when it was not there). */
export async function removeReaction(sql: Sql, input: { messageId: string; userId: string; emoji: string }): Promise<ReactionUpdate> {
  const [t] = await sql<{ conversation_id: string; role: MemberRole | null }[]>`
    select m.conversation_id, mb.role
    from messages m
    left join members mb on mb.conversation_id = m.conversation_id and mb.user_id = ${input.userId}
    where m.id = ${input.messageId}`;
  if (!t || !t.role) return { status: "not_found" };
  const removed = await sql`
    delete from reactions where message_id = ${input.messageId} and user_id = ${input.userId} and emoji = ${input.emoji}
    returning 1`;
  return { status: "ok", conversationId: t.conversation_id, changed: removed.length > 0 };
}
