import type { Sql } from "./client.js";

/**
 * Records the user behind a verified token, keeping the display name current. Writes only
 * when something changed, so reconnect storms do not turn into write storms.
 */
export async function upsertUser(sql: Sql, id: string, displayName: string): Promise<void> {
  await sql`
    insert into users (id, display_name) values (${id}, ${displayName})
    on conflict (id) do update set display_name = excluded.display_name, updated_at = now()
    where users.display_name is distinct from excluded.display_name`;
}

/** Makes sure rows exist for users named before they ever connected (their id is their name until then). */
export async function ensureUsers(sql: Sql, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    insert into users (id, display_name) select id, id from unnest(${ids as string[]}::text[]) as t(id)
    on conflict (id) do nothing`;
}
