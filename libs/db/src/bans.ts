import type { Sql } from "./client.js";
import { toIso } from "./timestamps.js";

/** A user's ban as stored: `until` null for a ban without end. */
export interface StoredBan {
  userId: string;
  until: string | null;
  reason: string | null;
}

/** Bans a user, or replaces their ban's end and reason. */
export async function putBan(sql: Sql, ban: { userId: string; until: Date | null; reason: string | null; bannedBy: string }): Promise<void> {
  await sql`
    insert into user_bans (user_id, until, reason, banned_by)
    values (${ban.userId}, ${ban.until?.toISOString() ?? null}::timestamptz, ${ban.reason}, ${ban.bannedBy})
    on conflict (user_id) do update set until = excluded.until, reason = excluded.reason,
      banned_by = excluded.banned_by, created_at = now()`;
}

/** Lifts a ban; whether there was one. */
export async function deleteBan(sql: Sql, userId: string): Promise<boolean> {
  const rows = await sql`delete from user_bans where user_id = ${userId} returning 1`;
  return rows.length > 0;
}

/** The user's ban if it is in force now (an ended ban counts as none: it lifts by itself). */
export async function activeBan(sql: Sql, userId: string): Promise<StoredBan | undefined> {
  const [row] = await sql<{ until: Date | string | null; reason: string | null }[]>`
    select until, reason from user_bans where user_id = ${userId} and (until is null or until > now())`;
  return row ? { userId, until: row.until === null ? null : toIso(row.until), reason: row.reason } : undefined;
}
