import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import postgres from "postgres";
import { REPO_ROOT } from "./node-script-process.js";

export interface TestDatabase {
  /** URL of the new database. */
  url: string;
  name: string;
  /** Drops the database, disconnecting anyone still in it. Safe to call twice. */
  drop(): Promise<void>;
}

export interface CreateDatabaseOptions {
  /** Name prefix (default "parley_test"). */
  prefix?: string;
  /** Run the @parley/db migrations (default true). */
  migrate?: boolean;
}

/**
 * @parley/db's runMigrations, loaded from the built libs/db by the repository's layout (as
 * spawnService finds the services) instead of imported by package name: the testkit does not
 * depend on @parley/db, so libs/db can test its queries with the testkit (turbo refuses a
 * cycle between packages).
 */
const MIGRATE_MODULE = "libs/db/dist/migrate.js";

async function migrate(url: string): Promise<void> {
  const path = join(REPO_ROOT, MIGRATE_MODULE);
  if (!existsSync(path)) throw new Error(`${MIGRATE_MODULE} is missing: build first (npm run build)`);
  const { runMigrations } = (await import(pathToFileURL(path).href)) as { runMigrations(url: string): Promise<void> };
  await runMigrations(url);
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/**
 * Creates a uniquely named database on the server of `adminUrl` and applies the
 * migrations, so each test file gets a schema of its own and nothing to clean by hand.
 */
export async function createDatabase(adminUrl: string, options: CreateDatabaseOptions = {}): Promise<TestDatabase> {
  const name = `${options.prefix ?? "parley_test"}_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = withDatabase(adminUrl, name);
  if (options.migrate !== false) await migrate(url);
  let dropping: Promise<void> | undefined;
  return {
    url,
    name,
    drop() {
      dropping ??= (async () => {
        const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
        try {
          // WITH (FORCE) (PostgreSQL 13+) ends sessions a test forgot to close.
          await sql.unsafe(`drop database if exists "${name}" with (force)`);
        } finally {
          await sql.end({ timeout: 5 });
        }
      })();
      return dropping;
    },
  };
}
