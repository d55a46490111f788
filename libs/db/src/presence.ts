import type { Sql } from "./client.js";
import { toIso } from "./timestamps.js";

/**
 * Of `userIds`, those who share at least one conversation with `callerId` (the only users
 * whose presence the caller may see), with their stored last-seen time.
 * Reads members_user_idx for the caller's conversations, then the primary key per conversation.
 */
export async function coMembersAmong(
  sql: Sql,
  callerId: string,
  userIds: readonly string[],
): Promise<{ userId: string; lastSeenAt?: string }[]> {
  if (userIds.length === 0) return [];
  const rows = await sql<{ id: string; last_seen_at: Date | string | null }[]>`
    select u.id, u.last_seen_at
    from users u
    where u.id = any(${userIds as string[]}::text[])
      and exists (
        select 1 from members mine
        join members theirs on theirs.conversation_id = mine.conversation_id
        where mine.user_id = ${callerId} and theirs.user_id = u.id
      )`;
  return rows.map((r) => (r.last_seen_at ? { userId: r.id, lastSeenAt: toIso(r.last_seen_at) } : { userId: r.id }));
}

/** The conversations of each user (users without any are absent from the map). */
export async function conversationIdsOfUsers(sql: Sql, userIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (userIds.length === 0) return out;
  const rows = await sql<{ user_id: string; conversation_id: string }[]>`
    select user_id, conversation_id from members where user_id = any(${userIds as string[]}::text[])`;
  for (const r of rows) {
    const list = out.get(r.user_id);
    if (list) list.push(r.conversation_id);
    else out.set(r.user_id, [r.conversation_id]);
  }
  return out;
}

/** Stores last-seen times; a time older than the stored one changes nothing (replicas may race). */
export async function recordLastSeen(sql: Sql, entries: readonly { userId: string; lastSeenAt: string }[]): Promise<void> {
  if (entries.length === 0) return;
  await sql`
    update users u set last_seen_at = t.seen
    from (
      select id, seen::timestamptz as seen
      from unnest(${entries.map((e) => e.userId)}::text[], ${entries.map((e) => e.lastSeenAt)}::text[]) as x(id, seen)
    ) as t
    where u.id = t.id and (u.last_seen_at is null or u.last_seen_at < t.seen)`;
}
