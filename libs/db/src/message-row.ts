import type { Sql } from "./client.js";
import { toIso } from "./timestamps.js";
import type { Attachment, Message, MessageKind, ReactionSummary } from "@parley/protocol";

/** A message row as the read queries select it (snake_case, joined with the sender's name). */
export interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  sender_name: string | null;
  client_message_id: string;
  kind: string;
  body: string | null;
  reply_to_id: string | null;
  attachments: Attachment[] | null;
  created_at: Date | string;
  edited_at: Date | string | null;
  deleted_at: Date | string | null;
  /** Selected by `messageColumns`; absent from rows that never had reactions (new messages). */
  reactions?: ReactionSummary[] | null;
}

/**
 * The columns every message read selects, as a fragment; `m` is messages, `u` the sender's user row.
 * Reactions come along as one JSON array per message (a probe of the reactions primary key,
 * (conversation_id, message_id, …), in the partition of the message's conversation): one emoji
 * per entry in the order each was first used.
 */
export function messageColumns(sql: Sql) {
  return sql`m.id, m.conversation_id, m.seq, m.sender_id, u.display_name as sender_name,
    m.client_message_id, m.kind, m.body, m.reply_to_id, m.attachments, m.created_at, m.edited_at, m.deleted_at,
    (select jsonb_agg(jsonb_build_object('emoji', r.emoji, 'userIds', r.user_ids) order by r.first_at, r.emoji)
      from (select emoji, array_agg(user_id order by created_at, user_id) as user_ids, min(created_at) as first_at
            from reactions where conversation_id = m.conversation_id and message_id = m.id group by emoji) r) as reactions`;
}

export function toMessage(row: MessageRow): Message {
  const message: Message = {
    id: row.id,
    conversationId: row.conversation_id,
    seq: row.seq,
    senderId: row.sender_id,
    senderName: row.sender_name ?? row.sender_id,
    clientMessageId: row.client_message_id,
    kind: row.kind as MessageKind,
    body: row.deleted_at ? null : row.body,
    createdAt: toIso(row.created_at),
  };
  if (row.reply_to_id) message.replyToId = row.reply_to_id;
  if (row.attachments && row.attachments.length > 0) message.attachments = row.attachments;
  if (row.edited_at) message.editedAt = toIso(row.edited_at);
  if (row.deleted_at) message.deletedAt = toIso(row.deleted_at);
  else if (row.reactions && row.reactions.length > 0) message.reactions = row.reactions;
  return message;
}

/**
 * Messages by (conversation, seq), each found in its conversation's partition, in the order
 * given, as the reads return them: what a batch that changed rows announces (tombstones).
 */
export async function readMessagesAt(sql: Sql, at: readonly { conversation_id: string; seq: number }[]): Promise<Message[]> {
  if (at.length === 0) return [];
  const rows = await sql<MessageRow[]>`
    select ${messageColumns(sql)}
    from unnest(${at.map((a) => a.conversation_id)}::uuid[], ${at.map((a) => a.seq)}::bigint[]) with ordinality as t(cid, seq, n)
    join messages m on m.conversation_id = t.cid and m.seq = t.seq
    left join users u on u.id = m.sender_id
    order by t.n`;
  return rows.map(toMessage);
}
