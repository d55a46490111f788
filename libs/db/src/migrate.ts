import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import { createDatabase } from "./client.js";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../migrations", import.meta.url));

/**
 * Applies the checked-in SQL migrations. Idempotent: drizzle records what ran in
 * `drizzle.__drizzle_migrations`, and concurrent runs serialise on an advisory lock.
 */
export async function runMigrations(url: string): Promise<void> {
  const database = createDatabase({ url, max: 1, connectTimeoutSeconds: 10, applicationName: "parley-migrate" });
  try {
    await database.sql`select pg_advisory_lock(7406153)`;
    await migrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await database.sql`select pg_advisory_unlock(7406153)`.catch(() => {});
    await database.close();
  }
}
