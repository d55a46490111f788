import type { ExportLine, MemberRole } from "@parley/protocol";
import type { Sql } from "./client.js";
import { messageColumns, toMessage, type MessageRow } from "./message-row.js";
import { toIso } from "./timestamps.js";

/**
 * A user's data as export lines (GET /v1/me/export), read through server-side cursors of
 * `cursorRows` rows: the caller pulls one line at a time and the next rows are fetched only once
 * the previous ones are taken, so memory stays at one batch of rows whatever the user's history.
 * Each part is one statement; a reader that stops early (the client went away) closes the
 * cursor when the generator is returned.
 */
export async function* exportUser(sql: Sql, userId: string, cursorRows: number): AsyncGenerator<ExportLine> {
  const counts: Record<string, number> = { membership: 0, message: 0, reaction: 0, block: 0, report: 0 };
  const [user] = await sql<{ id: string; display_name: string; created_at: Date | string }[]>`
    select id, display_name, created_at from users where id = ${userId}`;
  yield { type: "profile", user: { id: userId, name: user?.display_name ?? userId, createdAt: toIso(user?.created_at ?? new Date()) } };

  for await (const rows of sql<{ conversation_id: string; role: MemberRole; joined_at: Date | string }[]>`
    select conversation_id, role, joined_at from members where user_id = ${userId}`.cursor(cursorRows)) {
    for (const r of rows) {
      counts.membership!++;
      yield { type: "membership", conversationId: r.conversation_id, role: r.role, joinedAt: toIso(r.joined_at) };
    }
  }
  // Through the user's dedupe keys (message_keys, partitioned by sender: one partition, its
  // primary key), each message found by (conversation_id, seq): no scan of every partition.
  for await (const rows of sql<MessageRow[]>`
    select ${messageColumns(sql)}
    from message_keys k
    join messages m on m.conversation_id = k.conversation_id and m.seq = k.seq
    left join users u on u.id = m.sender_id
    where k.sender_id = ${userId}
    order by k.client_message_id`.cursor(cursorRows)) {
    for (const r of rows) {
      counts.message!++;
      yield { type: "message", message: toMessage(r) };
    }
  }
  for await (const rows of sql<{ message_id: string; emoji: string; created_at: Date | string }[]>`
    select message_id, emoji, created_at from reactions where user_id = ${userId}`.cursor(cursorRows)) {
    for (const r of rows) {
      counts.reaction!++;
      yield { type: "reaction", messageId: r.message_id, emoji: r.emoji, createdAt: toIso(r.created_at) };
    }
  }
  for await (const rows of sql<{ blocked_id: string; created_at: Date | string }[]>`
    select blocked_id, created_at from user_blocks where blocker_id = ${userId}`.cursor(cursorRows)) {
    for (const r of rows) {
      counts.block!++;
      yield { type: "block", userId: r.blocked_id, createdAt: toIso(r.created_at) };
    }
  }
  // The reports the user filed (reports about the user are the moderators' records, not theirs).
  for await (const rows of sql<{ id: string; message_id: string; reason: string; note: string | null; created_at: Date | string }[]>`
    select id, message_id, reason, note, created_at from reports where reporter_id = ${userId}`.cursor(cursorRows)) {
    for (const r of rows) {
      counts.report!++;
      yield { type: "report", reportId: r.id, messageId: r.message_id, reason: r.reason, note: r.note, createdAt: toIso(r.created_at) };
    }
  }
  yield { type: "end", counts };
}
