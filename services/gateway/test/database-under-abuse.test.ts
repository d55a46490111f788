// Issue 12, "the database under abuse", on the gateway's side, against a real PostgreSQL:
// a request the gateway gives up on frees its connection at once, the wait for a connection is
// bounded, the gateway's connections stop a runaway statement themselves, and a flood of random
// conversation ids costs a bounded number of queries. Each is measured (time, rows in
// pg_stat_activity, queries counted by Postgres), with margins far from the bounds.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { createTestDatabase } from "@parley/testkit/vitest";
import type { TestDatabase } from "@parley/testkit";
import { addMembers, createConversation, createDatabase, memberRole, type Database } from "@parley/db";
import { ParleyError } from "@parley/protocol";
import { MembershipCache } from "../src/conversations/membership-cache.js";
import { MembershipLookupBudget } from "../src/conversations/membership-lookup-budget.js";
import { loadConfig as loadFrom } from "../src/env.js";
import { DbGuard } from "../src/guard-db.js";
import { createGatewayMetrics, type GatewayMetrics } from "../src/metrics.js";
import { openGatewayDatabase } from "../src/open-database.js";

// Every start names its Redis (zero forms stop it); these services are handed their connections, so any URL does.
const loadConfig = (env: Record<string, string | undefined>) => loadFrom({ REDIS_URL: "redis://127.0.0.1:6379", ...env });

let testDb: TestDatabase;
let observer: Database;
const pools: Database[] = [];
const pool = (max: number, applicationName: string) => {
  const database = createDatabase({ url: testDb.url, max, applicationName });
  pools.push(database);
  return database;
};
beforeAll(async () => {
  testDb = await createTestDatabase();
  observer = createDatabase({ url: testDb.url, max: 1, applicationName: "observer" });
});
afterAll(async () => {
  await Promise.allSettled(pools.map((p) => p.close()));
  await observer?.close();
  await testDb?.drop();
});

const metrics = (): GatewayMetrics => createGatewayMetrics(new Registry());
const counter = async (m: { get(): Promise<{ values: { value: number }[] }> }) => (await m.get()).values[0]?.value ?? 0;

async function refusal(p: Promise<unknown>): Promise<ParleyError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ParleyError);
  return err as ParleyError;
}

/** Statements of `applicationName` still running in Postgres. */
const running = async (applicationName: string) =>
  (
    await observer.sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name = ${applicationName} and state = 'active'`
  )[0]!.n;

describe("a call the gateway gives up on", () => {
  it("is cancelled: its connection serves the next request at once, not after statement_timeout", async () => {
    const db = pool(1, "t-cancel");
    const m = metrics();
    const guard = new DbGuard({ timeoutMs: 200, maxActive: 1, maxWaiting: 10, metrics: m });
    const started = performance.now();
    const err = await refusal(guard.run(() => db.sql`select pg_sleep(8)`));
    expect(err.code).toBe("UNAVAILABLE");
    expect(performance.now() - started).toBeLessThan(1_000);
    // The one connection is free again well before the 8 s (or the 10 s statement_timeout).
    const next = performance.now();
    await guard.run(() => db.sql`select 1`);
    expect(performance.now() - next).toBeLessThan(1_500);
    expect(await running("t-cancel")).toBe(0);
    expect(await counter(m.dbTimeouts)).toBe(1);
  });

  it("is cancelled inside a transaction too (rolled back, the connection back in the pool)", async () => {
    const db = pool(1, "t-cancel-tx");
    const guard = new DbGuard({ timeoutMs: 200, maxActive: 1, maxWaiting: 10, metrics: metrics() });
    const err = await refusal(
      guard.run(() =>
        db.sql.begin(async (tx) => {
          await tx`select 1`;
          await tx`select pg_sleep(8)`;
        }),
      ),
    );
    expect(err.code).toBe("UNAVAILABLE");
    const next = performance.now();
    await guard.run(() => db.sql`select 1`);
    expect(performance.now() - next).toBeLessThan(1_500);
    expect(await running("t-cancel-tx")).toBe(0);
  });
});

describe("the wait for a connection", () => {
  it("is bounded: past DB_QUEUE_MAX waiting calls, the next is refused at once with retryAfterMs", async () => {
    const db = pool(2, "t-queue");
    const m = metrics();
    const guard = new DbGuard({ timeoutMs: 1_500, maxActive: 2, maxWaiting: 3, metrics: m });
    // Two running (the pool's two connections), three waiting.
    const held = Array.from({ length: 5 }, () => guard.run(() => db.sql`select pg_sleep(0.3)`));
    const started = performance.now();
    const err = await refusal(guard.run(() => db.sql`select 1`));
    // Refused without waiting (a waiting call would answer after 0.9 s or time out at 1.5 s).
    expect(performance.now() - started).toBeLessThan(300);
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.retryAfterMs).toBeGreaterThan(0);
    expect(await counter(m.dbRefused)).toBe(1);
    expect(await counter(m.dbWaiting)).toBe(3);
    // Postgres never saw more than the pool's two at once, and the queued ones all ran.
    expect(await running("t-queue")).toBeLessThanOrEqual(2);
    await Promise.all(held);
    expect(await counter(m.dbWaiting)).toBe(0);
  });

  it("gives a waiting call only what is left of its time, and never runs it after its caller was answered", async () => {
    const db = pool(1, "t-wait");
    const guard = new DbGuard({ timeoutMs: 300, maxActive: 1, maxWaiting: 10, metrics: metrics() });
    let ran = false;
    const first = refusal(guard.run(() => db.sql`select pg_sleep(2)`));
    const second = refusal(
      guard.run(async () => {
        ran = true;
        return db.sql`select 1`;
      }),
    );
    const started = performance.now();
    expect((await second).code).toBe("UNAVAILABLE");
    expect(performance.now() - started).toBeLessThan(1_000);
    expect((await first).code).toBe("UNAVAILABLE");
    await new Promise((r) => setTimeout(r, 200));
    expect(ran).toBe(false);
  });
});

describe("the gateway's connections", () => {
  it("stop a statement after DB_STATEMENT_TIMEOUT_MS themselves (the persister keeps its own)", async () => {
    const config = loadConfig({ DB_STATEMENT_TIMEOUT_MS: "500" });
    const db = openGatewayDatabase(testDb.url, config.database, "t-statement-timeout");
    pools.push(db);
    const [shown] = await db.sql<{ statement_timeout: string }[]>`show statement_timeout`;
    expect(shown?.statement_timeout).toBe("500ms");
    const started = performance.now();
    // Unguarded: nothing in the gateway cancels it.
    const err = (await db.sql`select pg_sleep(6)`.then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string } | undefined;
    expect(err?.code).toBe("57014");
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(loadConfig({}).database.statementTimeoutMs).toBe(2_000);
  });
});

describe("membership look-ups of random conversation ids", () => {
  /** Statements Postgres ran against `members` (index and sequential scans), from another connection. */
  const membersScans = async (db: Database) => {
    await db.sql`select pg_stat_force_next_flush()`;
    await db.sql`select 1`;
    const [row] = await observer.sql<{ n: number }[]>`
      select (coalesce(idx_scan, 0) + coalesce(seq_scan, 0))::int8 as n from pg_stat_user_tables where relname = 'members'`;
    return row!.n;
  };

  it("cost a bounded number of queries per user, then RATE_LIMITED; negative answers are cached until the user is added", async () => {
    const db = pool(1, "t-membership");
    const m = metrics();
    const budget = new MembershipLookupBudget({ perSecond: 5, refused: m.membershipLookupsRefused });
    const cache = new MembershipCache(budget.wrap((c, u) => memberRole(db.sql, c, u)));
    const before = await membersScans(db);
    let refused = 0;
    for (let i = 0; i < 500; i++) {
      await cache.role(randomUUID(), "mallory").catch((err: unknown) => {
        if (err instanceof ParleyError && err.code === "RATE_LIMITED" && err.retryAfterMs! > 0) refused++;
        else throw err;
      });
    }
    const scans = (await membersScans(db)) - before;
    // The burst (50) and what refilled during the flood; without the budget, 500.
    expect(scans).toBeLessThan(120);
    expect(refused).toBeGreaterThan(380);
    expect(await counter(m.membershipLookupsRefused)).toBe(refused);
    // Another user is not held up by mallory's flood.
    const { conversation } = await createConversation(db.sql, { id: randomUUID(), kind: "group", createdBy: "alice", memberIds: [] });
    expect(await cache.role(conversation.id, "alice")).toBe("owner");
    // "Not a member" is cached; the invalidation of an add drops it.
    expect(await cache.role(conversation.id, "bob")).toBeUndefined();
    const again = await membersScans(db);
    expect(await cache.role(conversation.id, "bob")).toBeUndefined();
    expect((await membersScans(db)) - again).toBe(0);
    await addMembers(db.sql, conversation.id, ["bob"]);
    cache.invalidate(conversation.id, ["bob"]);
    expect(await cache.role(conversation.id, "bob")).toBe("member");
  });
});
