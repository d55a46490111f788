import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { spawnNodeScript } from "./node-script-process.js";

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
 * @parley/db's migration command, as `npm run db:migrate` runs it. Run as a process (like the
 * services, see service-process.ts) rather than imported, so the testkit does not depend on
 * @parley/db and libs/db can test its queries with the testkit.
 */
const MIGRATE_CLI = "libs/db/dist/migrate-cli.js";

async function migrate(url: string): Promise<void> {
  const run = spawnNodeScript(MIGRATE_CLI, { DATABASE_URL: url });
  const code = await run.exited;
  if (code !== 0) throw new Error(`${MIGRATE_CLI} exited with ${code}:\n${run.output()}`);
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
