import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import { createDatabase } from "./client.js";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../migrations", import.meta.url));

export interface MigrateOptions {
  /**
   * Apply only the migrations up to this journal index (inclusive), as a database that was
   * migrated by an older release is: migration tests convert such a database, and the
   * benchmarks compare the schema before a change with the one after. Default: all of them.
   */
  through?: number;
}

/**
 * Applies the checked-in SQL migrations. Idempotent: drizzle records what ran in
 * `drizzle.__drizzle_migrations`, and concurrent runs serialise on an advisory lock.
 */
export async function runMigrations(url: string, options: MigrateOptions = {}): Promise<void> {
  const folder = options.through === undefined ? MIGRATIONS_FOLDER : migrationsThrough(options.through);
  // No statement timeout (the pools' default is 10 s): a migration's statement takes as long as
  // the rows it rewrites (0013 converts every message), and a cut one only rolls back to start
  // over. What bounds a migration is the Job's deadline (infra/k8s/migrate/job.yaml) or the
  // operator running it (docs/operations.md, "Postgres past one machine").
  const database = createDatabase({ url, max: 1, connectTimeoutSeconds: 10, statementTimeoutMs: 0, applicationName: "parley-migrate" });
  try {
    await database.sql`select pg_advisory_lock(7406153)`;
    await migrate(database.db, { migrationsFolder: folder });
  } finally {
    await database.sql`select pg_advisory_unlock(7406153)`.catch(() => {});
    await database.close();
    if (folder !== MIGRATIONS_FOLDER) rmSync(folder, { recursive: true, force: true });
  }
}

/** A temporary copy of the migrations folder whose journal ends at index `through`. */
function migrationsThrough(through: number): string {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as { entries: { idx: number; tag: string }[] };
  const entries = journal.entries.filter((e) => e.idx <= through);
  const folder = mkdtempSync(join(tmpdir(), "parley-migrations-"));
  mkdirSync(join(folder, "meta"));
  writeFileSync(join(folder, "meta", "_journal.json"), JSON.stringify({ ...journal, entries }));
  for (const e of entries) copyFileSync(join(MIGRATIONS_FOLDER, `${e.tag}.sql`), join(folder, `${e.tag}.sql`));
  return folder;
}
