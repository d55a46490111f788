import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { createDatabase, type CreateDatabaseOptions, type TestDatabase } from "./create-database.js";
import "./global-setup.js"; // brings in the ProvidedContext keys' types

export interface TestInfra {
  redisUrl: string;
  /** Admin URL of the run's PostgreSQL (database `postgres`); make your own with createTestDatabase(). */
  databaseUrl: string;
}

/** The Redis and PostgreSQL the globalSetup provided for this run. */
export function testInfra(): TestInfra {
  const redisUrl = inject("parleyRedisUrl") ?? process.env.TEST_REDIS_URL;
  const databaseUrl = inject("parleyDatabaseUrl") ?? process.env.TEST_DATABASE_URL;
  if (!redisUrl || !databaseUrl) {
    throw new Error(
      "no test infrastructure: use parleyVitestConfig() from @parley/testkit/vitest-config in vitest.config.ts, " +
        "or set TEST_REDIS_URL and TEST_DATABASE_URL",
    );
  }
  return { redisUrl, databaseUrl };
}

/** A fresh, migrated database on the run's PostgreSQL; call drop() in afterAll. */
export function createTestDatabase(options?: CreateDatabaseOptions): Promise<TestDatabase> {
  return createDatabase(testInfra().databaseUrl, options);
}

/**
 * A key prefix no other test uses, e.g. "t:gateway:3f2a9c1e:". Pass it to BullMQ
 * (`prefix`), the Socket.IO adapter (`key`) and your own keys, so test files running in
 * parallel against one Redis never see each other's data.
 */
export function uniqueRedisPrefix(label = "test"): string {
  return `t:${label}:${randomUUID().slice(0, 8)}:`;
}
