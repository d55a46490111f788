import postgres from "postgres";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import * as schema from "./schema.js";
import { trackQueries } from "./query-scope.js";

export type Sql = postgres.Sql;
export type Db = PostgresJsDatabase<typeof schema>;
export interface Database {
  sql: Sql;
  db: Db;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  /** Connections in the pool. */
  max?: number;
  /** Seconds to wait for a connection before failing, so an outage answers fast. */
  connectTimeoutSeconds?: number;
  /** Applied per statement on the server: a stuck query must not hold a send for long. */
  statementTimeoutMs?: number;
  applicationName?: string;
}

/**
 * One postgres.js pool and the drizzle instance over it. int8 columns (seq, watermarks)
 * are parsed to numbers: seqs stay far below 2^53. The pool's queries can be cancelled by the
 * caller that made them (query-scope.ts `runCancellable`).
 */
export function createDatabase(opts: DatabaseOptions): Database {
  const sql = trackQueries(postgres(opts.url, {
    max: opts.max ?? 10,
    connect_timeout: opts.connectTimeoutSeconds ?? 2,
    idle_timeout: 60,
    onnotice: () => {},
    connection: {
      application_name: opts.applicationName ?? "parley",
      statement_timeout: opts.statementTimeoutMs ?? 10_000,
      TimeZone: "UTC",
    },
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
  }));
  const db = drizzle(sql, { schema });
  let closing: Promise<void> | undefined;
  return {
    sql,
    db,
    close: () => (closing ??= sql.end({ timeout: 5 })),
  };
}

/** Errors that mean "the database is out of reach now", not "this input is bad". */
export function isTransientDbError(err: unknown): boolean {
  if (!err || typeof err !== "object") return false;
  const code = (err as { code?: unknown }).code;
  // No SQLSTATE and no socket error code: a bug, not an outage.
  if (typeof code !== "string") return false;
  // 57014: a statement cancelled by statement_timeout (an I/O stall, not bad input).
  if (/^(08|53|57P|57014|40001|40P01|58)/.test(code)) return true;
  return [
    "CONNECTION_CLOSED",
    "CONNECTION_ENDED",
    "CONNECTION_DESTROYED",
    "CONNECT_TIMEOUT",
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "EPIPE",
    "ENOTFOUND",
    "EAI_AGAIN",
    "PARLEY_CONCURRENT_DUPLICATE",
  ].includes(code);
}
