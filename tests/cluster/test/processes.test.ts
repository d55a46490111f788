import { Redis } from "ioredis";
import { io as connectClient } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, freePort, signToken, spawnService, startRedis, type ServerHandle, type ServiceName, type SpawnedService, type TestDatabase } from "@parley/testkit";
import { DEV_JWT_SECRET } from "@parley/runtime";
import { testInfra } from "@parley/testkit/vitest";

const SECRET = "process-test-secret-0123456789";

let db: TestDatabase;
beforeAll(async () => {
  db = await createDatabase(testInfra().databaseUrl);
});
afterAll(async () => {
  await db?.drop();
});

function run(service: ServiceName, env: Record<string, string>): SpawnedService {
  return spawnService(service, { LOG_LEVEL: "info", DATABASE_URL: db.url, ...env });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("condition not met in time");
}

describe("each service as its own process", () => {
  /** Connects `n` sockets to a gateway process and records when each is disconnected. */
  async function connectSockets(base: string, token: string, n: number) {
    const sockets = await Promise.all(
      Array.from({ length: n }, () => {
        const s = connectClient(base, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
        return new Promise<typeof s>((resolve, reject) => {
          s.once("session:ready", () => resolve(s));
          s.once("connect_error", reject);
        });
      }),
    );
    const disconnectedAt: number[] = [];
    for (const s of sockets) s.on("disconnect", () => disconnectedAt.push(Date.now()));
    return { sockets, disconnectedAt };
  }

  /** /readyz polled every 50 ms from `started` until `stop()`: each answer's time and status (0: no answer). */
  function pollReadyz(base: string, started: number) {
    const answers: { at: number; status: number }[] = [];
    let polling = true;
    const done = (async () => {
      while (polling) {
        const status = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status, () => 0);
        answers.push({ at: Date.now() - started, status });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    return { answers, stop: async () => ((polling = false), await done) };
  }

  for (const sockets of [1, 20]) {
    it(`a gateway with ${sockets} socket(s) drains on SIGTERM: /readyz 503 and new sockets refused for DRAIN_DELAY_MS before any socket closes, all within SHUTDOWN_GRACE_MS, exit 0`, async () => {
      const port = await freePort();
      const DRAIN_DELAY_MS = 2_500;
      const SHUTDOWN_GRACE_MS = 8_000;
      const gw = run("gateway", {
        REDIS_URL: testInfra().redisUrl,
        PORT: String(port),
        HOST: "127.0.0.1",
        JWT_SECRET: SECRET,
        SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
        DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
        POD_NAME: "gw-drain-test",
      });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200);
      const token = await signToken({ sub: "drainer", secret: SECRET });
      const { disconnectedAt } = await connectSockets(base, token, sockets);

      const started = Date.now();
      gw.child.kill("SIGTERM");
      const readyz = pollReadyz(base, started);
      await waitFor(async () => readyz.answers.some((a) => a.status === 503), 2_000);
      const late = connectClient(base, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
      const lateResult = await new Promise<string>((resolve) => {
        late.once("session:ready", () => resolve("accepted"));
        late.once("connect_error", () => resolve("refused"));
      });
      late.close();
      expect(lateResult).toBe("refused");
      // The metrics say so too while the drain runs: not ready, and the refusal counted.
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^parley_ready\{service="gateway"\} 0$/m);
      expect(metrics).toMatch(/^parley_gateway_handshakes_total\{outcome="draining",service="gateway"\} 1$/m);

      const code = await gw.exited;
      await readyz.stop();
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(SHUTDOWN_GRACE_MS + 1_000);
      expect(disconnectedAt).toHaveLength(sockets);
      // No socket closed during the delay (the signal reaches the process after `started`, so never early).
      expect(Math.min(...disconnectedAt) - started).toBeGreaterThanOrEqual(DRAIN_DELAY_MS - 50);
      // A load balancer polling /readyz saw 503, never 200, from the first 503 until the delay was over.
      const first503 = readyz.answers.findIndex((a) => a.status === 503);
      const duringDelay = readyz.answers.slice(first503).filter((a) => a.at < DRAIN_DELAY_MS - 100);
      expect(duringDelay.length).toBeGreaterThan(3);
      expect(new Set(duringDelay.map((a) => a.status))).toEqual(new Set([503]));
      if (sockets > 1) {
        // Jittered batches: not all at once.
        expect(Math.max(...disconnectedAt) - Math.min(...disconnectedAt)).toBeGreaterThan(200);
      }
    }, 30_000);
  }

  for (const service of ["persister", "delivery"] as const) {
    it(`the ${service} exits 0 on SIGTERM`, async () => {
      const port = await freePort();
      const worker = run(service, { REDIS_URL: testInfra().redisUrl, METRICS_PORT: String(port) });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain("nodejs_eventloop_lag_seconds");
      if (service === "delivery") {
        // No PUSH_WEBHOOK_URL: said once at start.
        expect(worker.output().match(/offline notifications are off/g)).toHaveLength(1);
        expect(metrics).toContain("parley_delivery_receipts_applied_total");
      }
      worker.child.kill("SIGTERM");
      expect(await worker.exited).toBe(0);
    }, 30_000);
  }

  describe("against a Redis that may evict keys", () => {
    let lru: ServerHandle;
    beforeAll(async () => {
      lru = await startRedis({ infra: "local" });
      const admin = new Redis(lru.url);
      await admin.config("SET", "maxmemory-policy", "allkeys-lru");
      await admin.quit();
    });
    afterAll(async () => {
      await lru?.close();
    });

    for (const service of ["gateway", "persister", "delivery"] as const) {
      it(`the ${service} refuses to start and says why`, async () => {
        const port = await freePort();
        const proc = run(service, { REDIS_URL: lru.url, PORT: String(port), METRICS_PORT: String(port), JWT_SECRET: SECRET });
        const code = await proc.exited;
        expect(code).not.toBe(0);
        expect(proc.output()).toContain("noeviction");
      }, 30_000);
    }
  });

  it("a production start with the published development secret or a short one refuses to start, and says so in one line", async () => {
    for (const [secret, why] of [[DEV_JWT_SECRET, "is the published development secret"], ["s".repeat(31), "is 31 bytes long"]] as const) {
      const proc = run("gateway", { REDIS_URL: testInfra().redisUrl, NODE_ENV: "production", JWT_SECRET: secret, PORT: String(await freePort()) });
      expect(await proc.exited).not.toBe(0);
      expect(proc.output()).toContain(`JWT_SECRET: ${why}; a production start needs a random secret of at least 32 bytes`);
    }
  });

  it("a production start without a JWT key refuses to start", async () => {
    const proc = run("gateway", { REDIS_URL: testInfra().redisUrl, NODE_ENV: "production", PORT: String(await freePort()) });
    expect(await proc.exited).not.toBe(0);
    expect(proc.output()).toContain("JWT_SECRET");
  });
});
