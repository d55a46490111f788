import { createDatabase, type Database } from "@parley/db";
import type { GatewayConfig } from "./env.js";

/**
 * The gateway's pool. Its connections carry a short statement_timeout
 * (DB_STATEMENT_TIMEOUT_MS): every query here answers a request within DB_TIMEOUT_MS, so one
 * still running past it is stopped by the server even when the gateway's cancel is lost.
 */
export function openGatewayDatabase(url: string, database: GatewayConfig["database"], applicationName: string): Database {
  return createDatabase({ url, max: database.poolSize, statementTimeoutMs: database.statementTimeoutMs, applicationName });
}
