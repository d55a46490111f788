// What a service checks of its Redis before it starts (protocol.md, "Redis topologies"):
// exactly one topology form, and noeviction, asked of `INFO memory` when CONFIG is refused
// (most managed Redis services rename or forbid it).
import { afterAll, describe, expect, it } from "vitest";
import { assertNoEviction, createRedis, waitForReady, type Redis } from "@parley/runtime";
import { createDatabase, freePort, spawnService, startRedis, type ServerHandle, type TestDatabase } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";

const SECRET = "redis-start-checks-secret-0123456789";
const opened: { close(): Promise<unknown> }[] = [];
afterAll(async () => {
  for (const o of opened.reverse()) await o.close().catch(() => {});
});

async function redisWithoutConfig(policy: string): Promise<ServerHandle> {
  // CONFIG renamed to nothing: the command no longer exists, as on most managed services.
  const redis = await startRedis({ infra: "local", args: ["--maxmemory-policy", policy, "--rename-command", "CONFIG", ""] });
  opened.push(redis);
  return redis;
}

async function connect(url: string): Promise<Redis> {
  const redis = createRedis({ url, name: "start-checks", role: "producer" });
  opened.push({ close: () => redis.quit() });
  await waitForReady(redis);
  return redis;
}

describe("the noeviction check", () => {
  it("accepts a Redis without CONFIG whose INFO memory says noeviction, and refuses one that says otherwise", async () => {
    const [good, bad] = await Promise.all([redisWithoutConfig("noeviction"), redisWithoutConfig("allkeys-lru")]);
    const [goodClient, badClient] = await Promise.all([connect(good.url), connect(bad.url)]);
    await expect(goodClient.config("GET", "maxmemory-policy")).rejects.toThrow(/unknown command/i);
    await expect(assertNoEviction(goodClient)).resolves.toBeUndefined();
    await expect(assertNoEviction(badClient)).rejects.toThrow(/maxmemory-policy is "allkeys-lru"; Parley needs "noeviction"/);
  });

  it("lets a service start on a Redis without CONFIG", async () => {
    const [redis, db] = await Promise.all([redisWithoutConfig("noeviction"), createDatabase(testInfra().databaseUrl)]);
    opened.push({ close: () => db.drop() });
    const port = await freePort();
    const gateway = spawnService("gateway", { REDIS_URL: redis.url, DATABASE_URL: (db as TestDatabase).url, PORT: String(port), HOST: "127.0.0.1", JWT_SECRET: SECRET });
    opened.push({ close: async () => (gateway.child.exitCode === null ? (gateway.child.kill("SIGKILL"), gateway.exited) : undefined) });
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status, { timeout: 30_000, interval: 200 })
      .toBe(200);
  });
});

describe("the Redis topology", () => {
  it("stops a start that names no Redis, or two, with one message", async () => {
    const none = spawnService("persister", { DATABASE_URL: "postgres://127.0.0.1:1/x" });
    const two = spawnService("delivery", { DATABASE_URL: "postgres://127.0.0.1:1/x", REDIS_URL: "redis://127.0.0.1:1", REDIS_SENTINELS: "127.0.0.1:2", REDIS_SENTINEL_NAME: "m" });
    expect(await none.exited).toBe(1);
    expect(none.output()).toContain("persister could not start: no Redis configured: set exactly one of REDIS_URL, REDIS_CLUSTER_NODES, or REDIS_SENTINELS with REDIS_SENTINEL_NAME");
    expect(await two.exited).toBe(1);
    expect(two.output()).toContain("delivery could not start: Redis configured twice (REDIS_URL and REDIS_SENTINELS)");
  });
});
