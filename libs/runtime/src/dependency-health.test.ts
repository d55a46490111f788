import { describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { Registry } from "prom-client";
import { createDependencyHealth, parseRedisMemory } from "./dependency-health.js";

// The check's logic only: the Redis connection and the database ping are stand-ins (the
// services' gauges and /readyz against real servers stopping and starting are covered by
// tests/cluster metrics-processes, outages and processes tests).
const redisStandIn = (status = "ready") => ({ status, ping: async () => "PONG", on() {}, off() {} }) as unknown as Redis & { status: string };

async function gauges(registry: Registry) {
  const text = await registry.metrics();
  const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);
  return { redis: value('parley_up{dependency="redis"}'), postgres: value('parley_up{dependency="postgres"}'), ready: value("parley_ready") };
}

describe("dependency health", () => {
  it("shares one database ping between probes that arrive while it is out", async () => {
    let pings = 0;
    let release!: () => void;
    const health = createDependencyHealth({
      registry: new Registry(),
      redis: redisStandIn(),
      draining: () => false,
      pingDatabase: () => {
        pings++;
        return new Promise<void>((resolve) => (release = resolve));
      },
      intervalMs: 60_000,
      timeoutMs: 5_000,
    });
    const probes = [health.ready(), health.ready(), health.ready()];
    await new Promise((r) => setTimeout(r, 10));
    expect(pings).toBe(1);
    release();
    expect(await Promise.all(probes)).toEqual([true, true, true]);
    // Within the cache window the answer is reused without another ping.
    expect(await health.ready()).toBe(true);
    expect(pings).toBe(1);
  });

  it("is not ready while draining, without pinging, and parley_ready says so at once", async () => {
    let pings = 0;
    let draining = false;
    const registry = new Registry();
    const health = createDependencyHealth({ registry, redis: redisStandIn(), draining: () => draining, pingDatabase: async () => void pings++, intervalMs: 60_000 });
    expect(await health.ready()).toBe(true);
    expect(await gauges(registry)).toEqual({ redis: 1, postgres: 1, ready: 1 });
    draining = true;
    expect(await health.ready()).toBe(false);
    expect(pings).toBe(1);
    expect(await gauges(registry)).toEqual({ redis: 1, postgres: 1, ready: 0 });
  });

  it("checks on its own timer: the gauges follow a database that stops answering and comes back, with nobody probing", async () => {
    let answering = true;
    const registry = new Registry();
    const health = createDependencyHealth({
      registry,
      redis: redisStandIn(),
      draining: () => false,
      // Out of reach as a hang, not an error: the timeout decides.
      pingDatabase: () => (answering ? Promise.resolve() : new Promise(() => {})),
      intervalMs: 50,
      timeoutMs: 100,
    });
    expect(await gauges(registry)).toEqual({ redis: 0, postgres: 0, ready: 0 });
    health.start();
    try {
      await expect.poll(() => gauges(registry), { timeout: 5_000 }).toEqual({ redis: 1, postgres: 1, ready: 1 });
      answering = false;
      await expect.poll(() => gauges(registry), { timeout: 5_000 }).toEqual({ redis: 1, postgres: 0, ready: 0 });
      answering = true;
      await expect.poll(() => gauges(registry), { timeout: 5_000 }).toEqual({ redis: 1, postgres: 1, ready: 1 });
    } finally {
      health.stop();
    }
  });

  it("reads Redis as down the moment its connection drops, before the next check", async () => {
    const redis = redisStandIn();
    const registry = new Registry();
    const health = createDependencyHealth({ registry, redis, draining: () => false, pingDatabase: async () => {}, intervalMs: 60_000 });
    expect(await health.ready()).toBe(true);
    redis.status = "reconnecting";
    expect(await gauges(registry)).toEqual({ redis: 0, postgres: 1, ready: 0 });
    expect(await health.ready()).toBe(false);
  });

  it("does not keep answering not ready from a cached Redis failure once the connection is back", async () => {
    const redis = redisStandIn("reconnecting");
    const registry = new Registry();
    const health = createDependencyHealth({ registry, redis, draining: () => false, pingDatabase: async () => {}, intervalMs: 60_000, cacheMs: 60_000 });
    health.start();
    await expect.poll(() => gauges(registry)).toEqual({ redis: 0, postgres: 1, ready: 0 });
    redis.status = "ready";
    expect(await health.ready()).toBe(true);
    expect(await gauges(registry)).toEqual({ redis: 1, postgres: 1, ready: 1 });
    health.stop();
  });
});

describe("parseRedisMemory", () => {
  it("reads used_memory and maxmemory from INFO memory (CRLF lines, as Redis sends them), not their look-alikes", () => {
    const info = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nused_memory_rss:9999999\r\nmaxmemory:268435456\r\nmaxmemory_human:256.00M\r\nmaxmemory_policy:noeviction\r\n";
    expect(parseRedisMemory(info)).toEqual({ used: 1_048_576, max: 268_435_456 });
    expect(parseRedisMemory("# Memory\r\nused_memory:5\r\n")).toBeUndefined();
  });
});
