import type { Sql } from "./client.js";

/** One user's blocks in both directions: whom they block, and who blocks them. */
export interface BlockRelations {
  blocks: string[];
  blockedBy: string[];
}

/**
 * `blockerId` blocks `blockedId` (idempotent). Returns whether a row was added, so a repeat
 * is not audited or announced twice.
 */
export async function addBlock(sql: Sql, blockerId: string, blockedId: string): Promise<boolean> {
  const rows = await sql`
    insert into user_blocks (blocker_id, blocked_id) values (${blockerId}, ${blockedId})
    on conflict do nothing
    returning 1`;
  return rows.length > 0;
}

/** Lifts a block (idempotent); whether there was one. */
export async function removeBlock(sql: Sql, blockerId: string, blockedId: string): Promise<boolean> {
  const rows = await sql`
    delete from user_blocks where blocker_id = ${blockerId} and blocked_id = ${blockedId}
    returning 1`;
  return rows.length > 0;
}

/** Whom the user blocks, oldest block first. */
export async function blockedBy(sql: Sql, blockerId: string): Promise<string[]> {
  const rows = await sql<{ blocked_id: string }[]>`
    select blocked_id from user_blocks where blocker_id = ${blockerId} order by created_at, blocked_id`;
  return rows.map((r) => r.blocked_id);
}

/**
 * Both directions in one statement (one primary-key range and one index range): what typing,
 * presence and the send path need to know about a user.
 */
export async function blockRelationsOf(sql: Sql, userId: string): Promise<BlockRelations> {
  const rows = await sql<{ other: string; outgoing: boolean }[]>`
    select blocked_id as other, true as outgoing from user_blocks where blocker_id = ${userId}
    union all
    select blocker_id as other, false as outgoing from user_blocks where blocked_id = ${userId}`;
  const out: BlockRelations = { blocks: [], blockedBy: [] };
  for (const r of rows) (r.outgoing ? out.blocks : out.blockedBy).push(r.other);
  return out;
}

/** Which of `userIds` block `userId` (a member add, a direct conversation's creation). */
export async function blockersAmong(sql: Sql, userId: string, userIds: readonly string[]): Promise<string[]> {
  if (userIds.length === 0) return [];
  const rows = await sql<{ blocker_id: string }[]>`
    select blocker_id from user_blocks where blocked_id = ${userId} and blocker_id = any(${userIds as string[]}::text[])`;
  return rows.map((r) => r.blocker_id);
}

/** A direct conversation's two members (from its direct_key), or null when it is not direct or does not exist. */
export async function directPairOf(sql: Sql, conversationId: string): Promise<readonly [string, string] | null> {
  const [row] = await sql<{ direct_key: string | null }[]>`select direct_key from conversations where id = ${conversationId}`;
  if (!row?.direct_key) return null;
  const pair = JSON.parse(row.direct_key) as [string, string];
  return [pair[0], pair[1]];
}

/**
 * For each of these users, everyone on either side of a block with them (presence announcements
 * leave those out). One statement for a whole batch of presence changes.
 */
export async function blockPartnersOfUsers(sql: Sql, userIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (userIds.length === 0) return out;
  const rows = await sql<{ user_id: string; other: string }[]>`
    select blocker_id as user_id, blocked_id as other from user_blocks where blocker_id = any(${userIds as string[]}::text[])
    union
    select blocked_id as user_id, blocker_id as other from user_blocks where blocked_id = any(${userIds as string[]}::text[])`;
  for (const r of rows) {
    const list = out.get(r.user_id);
    if (list) list.push(r.other);
    else out.set(r.user_id, [r.other]);
  }
  return out;
}
