import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { io as connectClient } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readMetricCatalogue } from "@parley/metrics-catalogue";
import { createDatabase, freePort, signToken, spawnService, startPostgres, startRedis, type ServerHandle, type TestDatabase } from "@parley/testkit";
import type { ClientSocket } from "./cluster.js";
import { parseExposition, samples, value, type Family } from "./exposition.js";

// The three services as real processes against a Redis and a Postgres of this file's own
// (stopping them must not disturb tests running beside it): their /metrics over HTTP, checked
// against docs/metrics.md, and parley_up / parley_ready through outages with nobody probing.
const SECRET = "metrics-process-secret-0123456789";
const SERVICES = ["gateway", "persister", "delivery"] as const;
type Service = (typeof SERVICES)[number];

let redis: ServerHandle;
let postgres: ServerHandle;
let db: TestDatabase;
const children: ChildProcess[] = [];
const base = {} as Record<Service, string>;

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  db = await createDatabase(postgres.url);
  const env = { REDIS_URL: redis.url, DATABASE_URL: db.url };
  for (const service of SERVICES) {
    const port = await freePort();
    base[service] = `http://127.0.0.1:${port}`;
    const own: Record<string, string> =
      service === "gateway"
        ? // The gateway keeps the default DEPENDENCY_CHECK_MS (5 s): the gauges must fall within seconds even so.
          { PORT: String(port), HOST: "127.0.0.1", JWT_SECRET: SECRET }
        : { METRICS_PORT: String(port), DEPENDENCY_CHECK_MS: "500" };
    children.push(spawnService(service, { ...env, ...own, POD_NAME: `${service}-metrics` }, { echoStderr: true }).child);
  }
  await Promise.all(SERVICES.map((s) => until(async () => (await fetch(`${base[s]}/readyz`)).status === 200, 30_000)));
}, 90_000);
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? once(c, "exit") : undefined)));
  await db?.drop().catch(() => {});
  await Promise.allSettled([redis?.close(), postgres?.close()]);
});

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** One scrape over HTTP: it must answer 200 within 3 s whatever Redis and Postgres are doing. */
async function scrape(service: Service): Promise<{ families: Map<string, Family>; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${base[service]}/metrics`, { signal: AbortSignal.timeout(3_000) });
  const text = await res.text();
  const ms = performance.now() - started;
  expect({ service, status: res.status }).toEqual({ service, status: 200 });
  return { families: parseExposition(text), ms };
}

/** Polls every service's /metrics (never /readyz) until `expected` holds; returns how long it took. */
async function gaugesBecome(expected: { redis?: number; postgres?: number; ready: number; queues: boolean }, timeoutMs = 20_000) {
  const started = Date.now();
  const slowest = { ms: 0 };
  const state = async (service: Service) => {
    const { families, ms } = await scrape(service);
    slowest.ms = Math.max(slowest.ms, ms);
    return {
      ...(expected.redis !== undefined ? { redis: value(families, "parley_up", { dependency: "redis" }) } : {}),
      ...(expected.postgres !== undefined ? { postgres: value(families, "parley_up", { dependency: "postgres" }) } : {}),
      ready: value(families, "parley_ready"),
      // The backlog families read from Redis at scrape time (the persister's stream gauges, the
      // delivery service's BullMQ queues), left out of a scrape while Redis does not answer.
      queues:
        service === "gateway"
          ? expected.queues
          : service === "persister"
            ? samples(families, "parley_persist_stream_lag").length > 0 && samples(families, "bullmq_job_count").length === 0
            : samples(families, "bullmq_job_count").length > 0,
    };
  };
  for (const service of SERVICES) {
    await expect.poll(() => state(service), { timeout: timeoutMs - (Date.now() - started), interval: 200 }).toEqual(expected);
  }
  return { ms: Date.now() - started, slowestScrapeMs: Math.round(slowest.ms) };
}

describe("the services' /metrics", () => {
  it("export the labelled failure counters at 0 before the first failure, so increase() sees it", async () => {
    // Checked first, before any traffic: every one of these must already be a series.
    const expected: Record<Service, [family: string, label: string, values: string[]][]> = {
      gateway: [
        ["parley_gateway_handshakes_total", "outcome", ["accepted", "AUTH_REQUIRED", "AUTH_INVALID", "AUTH_EXPIRED", "UNAVAILABLE", "INTERNAL", "draining", "origin"]],
        ["parley_presence_heartbeats_total", "outcome", ["ok", "unknown", "error"]],
        ["parley_presence_resyncs_total", "outcome", ["ok", "error"]],
      ],
      persister: [
        ["parley_persist_entries_failed_total", "reason", ["transient", "poison"]],
        ["parley_persist_dead_letters_total", "reason", ["invalid", "refused", "redelivered"]],
        ["parley_persist_messages_total", "outcome", ["stored", "duplicate", "conflict", "refused"]],
        ["parley_persist_handoffs_total", "outcome", ["ok", "failed"]],
      ],
      delivery: [
        ["parley_delivery_notifications_failed_total", "reason", ["retry", "rejected", "exhausted"]],
        ["parley_presence_sweeps_total", "outcome", ["ok", "error"]],
      ],
    };
    for (const service of SERVICES) {
      const { families } = await scrape(service);
      for (const [family, label, values] of expected[service]) {
        for (const v of values) {
          const found = value(families, family, { [label]: v });
          // Nothing has failed yet: the failure counters read 0, not "absent".
          expect({ family, [label]: v, found }).toEqual({ family, [label]: v, found: family.endsWith("_failed_total") ? 0 : expect.any(Number) });
        }
      }
    }
  });

  it("export exactly the families of docs/metrics.md (the runtime's included), each with help, type, base units and bounded labels", async () => {
    // Some traffic first, so labelled families have series whose labels can be checked.
    const token = await signToken({ sub: "metrics-alice", name: "Alice", secret: SECRET });
    const created = await fetch(`${base.gateway}/v1/conversations`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ kind: "direct", memberIds: ["metrics-bob"] }),
    });
    const conversationId = ((await created.json()) as { conversation: { id: string } }).conversation.id;
    const socket: ClientSocket = connectClient(base.gateway, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
    await new Promise((resolve, reject) => (socket.once("session:ready", resolve), socket.once("connect_error", reject)));
    expect(await socket.timeout(10_000).emitWithAck("message:send", { conversationId, clientMessageId: randomUUID(), body: "hi" })).toMatchObject({ ok: true });
    expect(await socket.emitWithAck("sync", {})).toMatchObject({ ok: true });
    expect(await socket.emitWithAck("message:delivered", { conversationId, seq: 1 })).toEqual({ ok: true });
    socket.disconnect();
    // The hand-off and the receipt reach the delivery service.
    await expect.poll(async () => value((await scrape("delivery")).families, "bullmq_job_completed_total", { queue: "receipts" }), { timeout: 15_000 }).toBe(1);

    const exported = new Map<string, { type: string; labels: Set<string>; services: Set<Service> }>();
    const ids = new RegExp(`${conversationId}|metrics-alice|metrics-bob|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`, "i");
    for (const service of SERVICES) {
      const { families } = await scrape(service);
      for (const f of families.values()) {
        expect({ family: f.name, help: f.help }).toEqual({ family: f.name, help: expect.stringMatching(/\S/) });
        expect({ family: f.name, type: f.type }).toEqual({ family: f.name, type: expect.stringMatching(/^(counter|gauge|histogram|summary)$/) });
        expect(f.name).toMatch(/^[a-z][a-z0-9_]*$/);
        // Base units: seconds and bytes, never milliseconds or other scales.
        expect(f.name).not.toMatch(/_(ms|milliseconds|microseconds|minutes|hours|kilobytes|megabytes|kb|mb)(_|$)/);
        // Ours only (prom-client's runtime gauge nodejs_active_resources_total predates the rule).
        if (/^(parley|bullmq)_/.test(f.name)) {
          if (f.type === "counter") expect(f.name).toMatch(/_total$/);
          else expect(f.name).not.toMatch(/_total$/);
          if (f.type === "histogram") expect(f.name).toMatch(/_(seconds|bytes|size|messages)$/);
        }
        for (const s of f.samples) {
          expect({ series: s.name, service: s.labels.service }).toEqual({ series: s.name, service });
          for (const [label, v] of Object.entries(s.labels)) {
            expect(label).not.toMatch(/user|conversation|message|socket|token/i);
            expect({ series: s.name, label, value: v }).toEqual({ series: s.name, label, value: expect.not.stringMatching(ids) });
          }
        }
        if (!/^(parley|bullmq)_/.test(f.name)) expect(f.name).toMatch(/^(process|nodejs)_/);
        const entry = exported.get(f.name) ?? { type: f.type!, labels: new Set<string>(), services: new Set<Service>() };
        entry.services.add(service);
        for (const s of f.samples) for (const label of Object.keys(s.labels)) if (!["service", "le", "quantile"].includes(label)) entry.labels.add(label);
        exported.set(f.name, entry);
      }
      // Node.js runtime metrics on every service.
      expect(families.has("process_cpu_seconds_total") && families.has("nodejs_eventloop_lag_seconds")).toBe(true);
    }

    // Both tables of docs/metrics.md: Parley's families and prom-client's runtime ones.
    const doc = readMetricCatalogue();
    expect(doc.map((d) => d.name).sort()).toEqual([...exported.keys()].sort());
    for (const d of doc) {
      const e = exported.get(d.name)!;
      expect({ family: d.name, type: d.type, services: d.services }).toEqual({ family: d.name, type: e.type, services: [...e.services].sort() });
      // Every label seen on a series is documented (a family without traffic yet shows none).
      expect({ family: d.name, undocumented: [...e.labels].filter((l) => !d.labels.includes(l)) }).toEqual({ family: d.name, undocumented: [] });
    }
  });

  it("export Redis's used and maximum memory (INFO memory) from every service, following a maxmemory change", async () => {
    const admin = new Redis(redis.url);
    try {
      const limit = 512 * 1024 * 1024;
      await admin.config("SET", "maxmemory", String(limit));
      for (const service of SERVICES) {
        await expect
          .poll(async () => {
            const { families } = await scrape(service);
            const used = value(families, "parley_redis_memory_used_bytes");
            return { max: value(families, "parley_redis_memory_max_bytes"), used: used !== undefined && used > 100_000 };
          }, { timeout: 15_000, interval: 200 })
          .toEqual({ max: limit, used: true });
      }
    } finally {
      await admin.config("SET", "maxmemory", "0");
      admin.disconnect();
    }
  }, 30_000);

  it("parley_up and parley_ready follow a Redis outage within seconds with nobody calling /readyz; scrapes answer throughout, without the series read from Redis", async () => {
    const stoppedAt = Date.now();
    await redis.stop();
    const down = await gaugesBecome({ redis: 0, ready: 0, queues: false });
    expect(down.slowestScrapeMs).toBeLessThan(3_000);
    await redis.start();
    const back = await gaugesBecome({ redis: 1, ready: 1, queues: true }, 30_000);
    process.stdout.write(`redis outage: gauges at 0 on all services ${down.ms} ms after the stop (slowest scrape ${down.slowestScrapeMs} ms); back to 1 ${back.ms} ms after the restart (${Date.now() - stoppedAt} ms in all)\n`);
  }, 60_000);

  it("parley_up and parley_ready follow a Postgres outage the same way", async () => {
    await postgres.stop();
    const down = await gaugesBecome({ postgres: 0, redis: 1, ready: 0, queues: true });
    expect(down.slowestScrapeMs).toBeLessThan(3_000);
    await postgres.start();
    const back = await gaugesBecome({ postgres: 1, redis: 1, ready: 1, queues: true }, 30_000);
    process.stdout.write(`postgres outage: gauges at 0 on all services ${down.ms} ms after the stop; back to 1 ${back.ms} ms after the restart\n`);
  }, 60_000);
});
