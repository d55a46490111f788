import type { TestProject } from "vitest/node";
import type { InfraMode } from "./docker.js";
import { startPostgres } from "./postgres-server.js";
import { startRedis } from "./redis-server.js";
import type { ServerHandle } from "./server-handle.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Redis for this run; tests share it and keep apart by key prefix. */
    parleyRedisUrl: string;
    /** Admin URL (database `postgres`) of the run's PostgreSQL; tests create their own database. */
    parleyDatabaseUrl: string;
  }
}

/**
 * Vitest globalSetup: one Redis and one PostgreSQL for the whole run. When
 * TEST_REDIS_URL / TEST_DATABASE_URL are set (by `npm test`, which starts one pair for
 * every workspace, or by a developer with servers of their own) those are used instead.
 * PARLEY_TEST_INFRA=local|docker|auto picks where started servers come from.
 *
 * The URLs reach tests through `inject()` and, for child processes a test spawns,
 * through process.env.TEST_REDIS_URL / TEST_DATABASE_URL.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const infra = (process.env.PARLEY_TEST_INFRA ?? "auto") as InfraMode;
  const started: ServerHandle[] = [];
  try {
    let redisUrl = process.env.TEST_REDIS_URL;
    let databaseUrl = process.env.TEST_DATABASE_URL;
    // Started side by side: together about a second on a small machine.
    const [redis, pg] = await Promise.all([
      redisUrl ? undefined : startRedis({ infra }),
      databaseUrl ? undefined : startPostgres({ infra }),
    ]);
    if (redis) {
      started.push(redis);
      redisUrl = redis.url;
    }
    if (pg) {
      started.push(pg);
      databaseUrl = pg.url;
    }
    if (!redisUrl || !databaseUrl) throw new Error("unreachable: test infrastructure URLs missing");
    process.env.TEST_REDIS_URL = redisUrl;
    process.env.TEST_DATABASE_URL = databaseUrl;
    project.provide("parleyRedisUrl", redisUrl);
    project.provide("parleyDatabaseUrl", databaseUrl);
  } catch (error) {
    await Promise.allSettled(started.map((server) => server.close()));
    throw error;
  }
  return async () => {
    const results = await Promise.allSettled(started.map((server) => server.close()));
    for (const result of results) {
      if (result.status === "rejected") process.stderr.write(`[testkit] closing a test server failed: ${String(result.reason)}\n`);
    }
  };
}
