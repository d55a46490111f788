import type { Sql } from "./client.js";

/**
 * Mutes a conversation for one of its members: `until` null mutes until unmuted. Returns false
 * when the user is not a member (the caller answers FORBIDDEN, as for any non-member).
 */
export async function muteConversation(sql: Sql, conversationId: string, userId: string, until: Date | null): Promise<boolean> {
  const rows = await sql`
    update members set muted_until = ${until === null ? "infinity" : until.toISOString()}::timestamptz
    where conversation_id = ${conversationId} and user_id = ${userId}
    returning 1`;
  return rows.length > 0;
}

/** Lifts a member's mute; false when not a member. */
export async function unmuteConversation(sql: Sql, conversationId: string, userId: string): Promise<boolean> {
  const rows = await sql`
    update members set muted_until = null
    where conversation_id = ${conversationId} and user_id = ${userId}
    returning 1`;
  return rows.length > 0;
}

/** One member a committed message may notify (the push path, services/delivery). */
export interface PushCandidate {
  conversationId: string;
  userId: string;
  readSeq: number;
  /** The member muted the conversation, and the mute has not ended. */
  muted: boolean;
  /** Which of the batch's senders this member blocks. */
  blocks: string[];
}

/**
 * The members of these conversations with what decides whether a message notifies them: the
 * read watermark, an active mute, and which of `senderIds` they block. One statement: the mute
 * is a column of members and the blocks a primary-key probe per member, so the push path pays
 * no extra round trip for them (docs/decisions/0060-safety-state-where-it-is-read.md).
 */
export async function pushCandidates(sql: Sql, conversationIds: readonly string[], senderIds: readonly string[]): Promise<PushCandidate[]> {
  if (conversationIds.length === 0) return [];
  const rows = await sql<{ conversation_id: string; user_id: string; read_seq: number; muted: boolean; blocks: string[] }[]>`
    select m.conversation_id, m.user_id, m.read_seq,
           coalesce(m.muted_until > now(), false) as muted,
           array(select b.blocked_id from user_blocks b
                 where b.blocker_id = m.user_id and b.blocked_id = any(${senderIds as string[]}::text[])) as blocks
    from members m where m.conversation_id = any(${conversationIds as string[]}::uuid[])`;
  return rows.map((r) => ({ conversationId: r.conversation_id, userId: r.user_id, readSeq: r.read_seq, muted: r.muted, blocks: r.blocks }));
}
