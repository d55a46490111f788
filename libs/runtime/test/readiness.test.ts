import { describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createReadiness } from "../src/readiness.js";

// Readiness logic only: the Redis status and the ping are stand-ins (the services' /readyz
// against real servers is covered by tests/cluster outages and processes tests).
const connected = { status: "ready" } as unknown as Redis;

describe("readiness", () => {
  it("shares one database ping between probes that arrive while it is out", async () => {
    let pings = 0;
    let release!: () => void;
    const ready = createReadiness({
      redis: connected,
      draining: () => false,
      pingDatabase: () => {
        pings++;
        return new Promise<void>((resolve) => (release = resolve));
      },
      timeoutMs: 5_000,
    });
    const probes = [ready(), ready(), ready()];
    await new Promise((r) => setTimeout(r, 10));
    expect(pings).toBe(1);
    release();
    expect(await Promise.all(probes)).toEqual([true, true, true]);
    // Within the cache window the answer is reused without another ping.
    expect(await ready()).toBe(true);
    expect(pings).toBe(1);
  });

  it("is not ready while draining, without pinging", async () => {
    let pings = 0;
    const ready = createReadiness({ redis: connected, draining: () => true, pingDatabase: async () => void pings++ });
    expect(await ready()).toBe(false);
    expect(pings).toBe(0);
  });
});
