// The presence storm (issue 3, point 9): 5,000 sockets connecting and disconnecting
// against two gateways and the delivery service. What it measures:
//
//  - Redis commands per connection event (INFO commandstats deltas: the scripts' round trips
//    and the commands inside them, the delivery service's takes and publishes included),
//  - presence events published per second (the delivery service's counter, sampled) and
//    presence events the clients received,
//  - coalescing: a reconnect storm where every user is back within the window.
//
// Runs on its own: `npm run bench -- --only=presence` (or `node tools/bench/dist/presence-storm.js`).
// Results go to docs/benchmarks.md between the presence markers and bench-results/.
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import postgres from "postgres";
import { createDatabase, freePort, signToken, startPostgres, startRedis } from "@parley/testkit";
import { BenchChild, waitReady } from "./child.js";
import { CpuSampler, cpuBetween, type CpuUse } from "./cpu-sampler.js";
import { counterDelta, scrape, type Scrape } from "./prom-scrape.js";
import type { StormCommand, StormReport, StormUser } from "./presence-storm-clients.js";
import { codeInfo, machineInfo } from "./report.js";
import { commandStats, type CommandCounts } from "./redis-stats.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../../..");

export const STORM = {
  users: 5_000,
  /** Each user is in one group of this size; members are spread over both gateways. */
  groupSize: 5,
  connectConcurrency: 100,
  /** Matches the delivery service's default PRESENCE_FLUSH_MS. */
  flushMs: 1_000,
};

const log = (line: string) => process.stdout.write(`[presence ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The sockets' process. */
class StormClients {
  private waiting: ((r: StormReport) => void) | undefined;
  constructor(readonly child: BenchChild) {
    child.process.on("message", (r: StormReport) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(r);
    });
  }
  request(command: StormCommand | { type: "stats" }): Promise<StormReport> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.child.process.send(command);
    });
  }
  async received(): Promise<{ online: number; offline: number }> {
    const r = await this.request({ type: "stats" });
    return r.type === "presence" ? { online: r.online, offline: r.offline } : { online: 0, offline: 0 };
  }
}

export interface PhaseResult {
  phase: string;
  /** Socket connects + disconnects the phase made. */
  socketEvents: number;
  clientMs: number;
  failed: number;
  /** Until the last presence event was published (or the phase's own end if none were). */
  seconds: number;
  presencePublished: number;
  presencePerSecondMean: number;
  presencePerSecondPeak: number;
  coalesced: number;
  received: { online: number; offline: number };
  redisCalls: number;
  /** Redis commands per socket event, the adapter's room (un)subscriptions left out. */
  redisCallsPerSocketEvent: number;
  adapterSubscriptionsPerSocketEvent: number;
  scriptCallsPerSocketEvent: number;
  publishesPerSocketEvent: number;
  topCommands: [string, number][];
  cpu: CpuUse;
}

function redisDelta(a: CommandCounts, b: CommandCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, after] of Object.entries(b)) {
    const d = after.calls - (a[name]?.calls ?? 0);
    if (d > 0) out[name] = d;
  }
  return out;
}

/**
 * `cleanups`: where to register each teardown step; main.ts passes its own list so Ctrl-C
 * stops these processes too (it then runs them). Standalone, the storm runs them itself.
 */
export async function runPresenceStorm(root = ROOT, shared?: Array<() => Promise<void>>): Promise<PhaseResult[]> {
  const started = Date.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const logDir = join(root, "bench-results", `presence-logs-${stamp}`);
  mkdirSync(logDir, { recursive: true });
  const cpu = new CpuSampler();
  const cleanups: Array<() => Promise<void>> = shared ?? [];
  const code = codeInfo(root);
  const machine = machineInfo();
  try {
    log(`code ${code.commit}${code.dirty.length ? ` (uncommitted changes in ${code.dirty.join(", ")})` : ""}; ${machine.cores} cores; logs in ${relative(root, logDir)}`);
    const redis = await startRedis({ infra: "local" });
    cleanups.push(async () => {
      await redis.close();
    });
    // Presence never waits on a commit: fsync off keeps the disk out of these numbers.
    const pg = await startPostgres({ infra: "local", durable: false });
    cleanups.push(async () => {
      await pg.close();
    });
    const db = await createDatabase(pg.url, { prefix: "parley_presence_bench" });
    cleanups.push(async () => {
      await db.drop();
    });

    log(`seeding ${STORM.users} users in ${STORM.users / STORM.groupSize} groups of ${STORM.groupSize}`);
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    const userIds = Array.from({ length: STORM.users }, (_, u) => `storm-${u}`);
    await sql`insert into users (id, display_name) select id, id from unnest(${userIds}::text[]) as t(id)`;
    const groups = STORM.users / STORM.groupSize;
    const conversationIds = Array.from({ length: groups }, () => randomUUID());
    await sql`insert into conversations (id, kind, title, created_by)
      select id, 'group', 'storm', 'storm-0' from unnest(${conversationIds}::uuid[]) as t(id)`;
    // User u is in group u mod groups, so each group has members on both gateways.
    await sql`insert into members (conversation_id, user_id, role)
      select cid, uid, 'member' from unnest(${userIds.map((_, u) => conversationIds[u % groups]!)}::uuid[], ${userIds}::text[]) as x(cid, uid)`;
    await sql.end();

    const secret = randomBytes(24).toString("hex");
    // Every load-generator socket comes from 127.0.0.1: no per-address cap.
    const common = { REDIS_URL: redis.url, DATABASE_URL: db.url, LOG_LEVEL: "warn", NODE_ENV: "production", JWT_SECRET: secret, SOCKETS_PER_IP_MAX: "0" };
    const ports = [await freePort(), await freePort()];
    const deliveryPort = await freePort();
    const gateways = ports.map((port, i) => {
      const name = `gateway-${"ab"[i]}`;
      const child = BenchChild.spawn(name, join(root, "services/gateway/dist/server.js"), { ...common, PORT: String(port), HOST: "127.0.0.1", POD_NAME: `storm-${name}` }, join(logDir, `${name}.log`));
      cpu.name(child.pid, name);
      cleanups.push(async () => {
        await child.stop();
      });
      return child;
    });
    const delivery = BenchChild.spawn("delivery", join(root, "services/delivery/dist/server.js"), { ...common, METRICS_PORT: String(deliveryPort), POD_NAME: "storm-delivery", PRESENCE_FLUSH_MS: String(STORM.flushMs) }, join(logDir, "delivery.log"));
    cpu.name(delivery.pid, "delivery");
    cleanups.push(async () => {
      await delivery.stop();
    });
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const deliveryMetrics = `http://127.0.0.1:${deliveryPort}/metrics`;
    await Promise.all([...gateways.map((g, i) => waitReady(`${urls[i]}/readyz`, g)), waitReady(`http://127.0.0.1:${deliveryPort}/readyz`, delivery)]);

    const users: StormUser[] = await Promise.all(
      userIds.map(async (userId, u) => ({ userId, server: Math.floor(u / groups) % 2, token: await signToken({ sub: userId, name: `Storm ${u}`, secret, expiresInSeconds: 3600 }) })),
    );
    const clientsChild = BenchChild.fork("clients", join(HERE, "presence-storm-clients.js"), join(logDir, "clients.log"));
    cpu.name(clientsChild.pid, "clients");
    cleanups.push(async () => {
      await clientsChild.stop(2_000);
    });
    const clients = new StormClients(clientsChild);
    const admin = new Redis(redis.url);
    cleanups.push(async () => {
      admin.disconnect();
    });
    const dirtyKey = "parley:{presence}:dirty";

    const phase = async (name: string, command: StormCommand, socketEvents: number): Promise<PhaseResult> => {
      // Start from a quiet system: nothing dirty, nothing being announced.
      await settle(admin, dirtyKey, deliveryMetrics);
      const [redisBefore, metricsBefore, receivedBefore] = [await commandStats(redis.url), await scrape(deliveryMetrics), await clients.received()];
      const cpuBefore = cpu.snapshot();
      const t0 = Date.now();
      const samples: { at: number; events: number }[] = [{ at: t0, events: counterDelta(new Map(), metricsBefore, "parley_presence_events_total") }];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          await sleep(250);
          samples.push({ at: Date.now(), events: counterDelta(new Map(), await scrape(deliveryMetrics), "parley_presence_events_total") });
        }
      })();
      const report = await clients.request(command);
      if (report.type !== "done") throw new Error(`${name}: ${report.type === "error" ? report.message : "unexpected report"}`);
      const clientEnd = Date.now();
      await settle(admin, dirtyKey, deliveryMetrics);
      sampling = false;
      await sampler;
      const cpuUse = cpuBetween(cpuBefore, cpu.snapshot());
      const [redisAfter, metricsAfter, receivedAfter] = [await commandStats(redis.url), await scrape(deliveryMetrics), await clients.received()];
      const calls = redisDelta(redisBefore, redisAfter);
      // The bench's own INFO/SCARD calls are not the system's.
      for (const own of ["info", "scard", "hello", "client"]) delete calls[own];
      // Socket.IO's own cost, not presence's: the sharded adapter (un)subscribes a room's
      // channel when its first socket on a pod joins or its last one leaves.
      const adapterSubscriptions = (calls.ssubscribe ?? 0) + (calls.sunsubscribe ?? 0);
      const total = Object.values(calls).reduce((a, b) => a + b, 0) - adapterSubscriptions;
      const published = counterDelta(metricsBefore, metricsAfter, "parley_presence_events_total");
      const lastChange = samples.reduce((last, s, i) => (i > 0 && s.events > samples[i - 1]!.events ? s.at : last), clientEnd);
      const seconds = Math.max(0.25, (lastChange - t0) / 1000);
      // Peak: the most published within any one second (four consecutive 250 ms samples).
      let peak = 0;
      for (let i = 0; i < samples.length; i++) {
        const j = samples.findIndex((s) => s.at >= samples[i]!.at + 1_000);
        if (j === -1) break;
        peak = Math.max(peak, (samples[j]!.events - samples[i]!.events) / ((samples[j]!.at - samples[i]!.at) / 1000));
      }
      const result: PhaseResult = {
        phase: name,
        socketEvents,
        clientMs: report.ms,
        failed: report.failed,
        seconds: Math.round(seconds * 10) / 10,
        presencePublished: published,
        presencePerSecondMean: Math.round(published / seconds),
        presencePerSecondPeak: Math.round(peak),
        coalesced: counterDelta(metricsBefore, metricsAfter, "parley_presence_coalesced_total"),
        received: { online: receivedAfter.online - receivedBefore.online, offline: receivedAfter.offline - receivedBefore.offline },
        redisCalls: total,
        adapterSubscriptionsPerSocketEvent: Math.round((adapterSubscriptions / socketEvents) * 100) / 100,
        redisCallsPerSocketEvent: Math.round((total / socketEvents) * 100) / 100,
        scriptCallsPerSocketEvent: Math.round((((calls.evalsha ?? 0) + (calls.eval ?? 0)) / socketEvents) * 100) / 100,
        publishesPerSocketEvent: Math.round(((calls.spublish ?? 0) / socketEvents) * 1000) / 1000,
        topCommands: Object.entries(calls)
          .filter(([name]) => name !== "ssubscribe" && name !== "sunsubscribe")
          .sort((a, b) => b[1] - a[1])
          .slice(0, 8),
        cpu: cpuUse,
      };
      log(
        `${name}: ${socketEvents} socket events in ${(report.ms / 1000).toFixed(1)} s (${report.failed} failed); ` +
          `presence published ${published} (${result.presencePerSecondMean}/s mean, ${result.presencePerSecondPeak}/s peak), coalesced ${result.coalesced}, ` +
          `received online ${result.received.online} offline ${result.received.offline}; redis ${total} commands = ${result.redisCallsPerSocketEvent} per socket event ` +
          `(${result.scriptCallsPerSocketEvent} script calls; adapter subscriptions ${result.adapterSubscriptionsPerSocketEvent} more); top ${result.topCommands.map(([n, c]) => `${n} ${c}`).join(", ")}`,
      );
      return result;
    };

    const results: PhaseResult[] = [];
    results.push(await phase("connect storm", { type: "connect", urls, users, concurrency: STORM.connectConcurrency }, STORM.users));
    results.push(await phase("reconnect storm", { type: "flap", concurrency: STORM.connectConcurrency }, 2 * STORM.users));
    results.push(await phase("disconnect storm", { type: "disconnect" }, STORM.users));
    clientsChild.process.send({ type: "close" } satisfies StormCommand);

    const json = join(root, "bench-results", `presence-${stamp}.json`);
    writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), machine, code, config: STORM, results }, null, 2) + "\n");
    writeSection(root, render(results, { machine, code, seconds: Math.round((Date.now() - started) / 1000) }));
    log(`wrote docs/benchmarks.md (presence section) and ${relative(root, json)}`);
    return results;
  } finally {
    if (!shared) for (const step of cleanups.splice(0).reverse()) await step().catch((err: unknown) => log(`cleanup: ${err instanceof Error ? err.message : String(err)}`));
  }
}

/** Waits until nothing is dirty and the delivery service has published nothing for three windows. */
async function settle(admin: Redis, dirtyKey: string, metricsUrl: string, maxMs = 60_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  const events = async () => counterDelta(new Map<string, number>(), (await scrape(metricsUrl)) as Scrape, "parley_presence_events_total");
  let last = await events();
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(250);
    const now = await events();
    const dirty = await admin.scard(dirtyKey);
    if (now !== last || dirty > 0) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= 3 * STORM.flushMs) return;
  }
  log(`still busy after ${maxMs / 1000} s; going on`);
}

const START = "<!-- bench:presence:start -->";
const END = "<!-- bench:presence:end -->";

function render(results: PhaseResult[], info: { machine: ReturnType<typeof machineInfo>; code: ReturnType<typeof codeInfo>; seconds: number }): string {
  const m = info.machine;
  const lines = [
    "## Presence storm (`npm run bench -- --only=presence`)",
    "",
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC (${info.seconds} s), commit \`${info.code.commit}\`${info.code.dirty.length ? " with uncommitted changes" : ""}; ${m.cores} cores (${m.cpuModel}), Node ${m.node}, ${m.redis}. Raw numbers: \`bench-results/presence-*.json\`.`,
    "",
    `**Set-up**: two gateways and the delivery service as processes (defaults: heartbeat 5 s, TTL 20 s, flush window ${STORM.flushMs} ms, offline grace 2 s), one Redis, PostgreSQL (fsync off: presence never waits on a commit). ${STORM.users.toLocaleString("en")} users, each in one group of ${STORM.groupSize} spread over both gateways; one websocket per user from a separate client process, ${STORM.connectConcurrency} handshakes in flight. Phases: every user connects; every socket drops and reconnects at once (a flaky network: each user is offline for a few ms); every socket disconnects. Each phase starts and ends with nothing dirty and nothing being published.`,
    "",
    "| phase | socket events | client time | presence events published | published/s mean · peak | coalesced (no change) | presence received by clients | Redis commands per socket event | of which script calls | + adapter room (un)subscriptions | top Redis commands |",
    "|---|---:|---:|---:|---|---:|---|---:|---:|---:|---|",
  ];
  for (const r of results) {
    lines.push(
      `| ${r.phase} | ${r.socketEvents.toLocaleString("en")} | ${(r.clientMs / 1000).toFixed(1)} s | ${r.presencePublished.toLocaleString("en")} | ${r.presencePerSecondMean} · ${r.presencePerSecondPeak} | ${r.coalesced.toLocaleString("en")} | online ${r.received.online.toLocaleString("en")}, offline ${r.received.offline.toLocaleString("en")} | ${r.redisCallsPerSocketEvent} | ${r.scriptCallsPerSocketEvent} | ${r.adapterSubscriptionsPerSocketEvent} | ${r.topCommands.slice(0, 6).map(([n, c]) => `${n} ${c.toLocaleString("en")}`).join(", ")} |`,
    );
  }
  lines.push("", "CPU during each phase (% of one core):", "");
  for (const r of results) {
    lines.push(`- ${r.phase}: ${Object.entries(r.cpu.percentOfCore).filter(([, v]) => v >= 1).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  }
  lines.push(
    "",
    "Reading it: Redis commands are counted by `INFO commandstats` over the whole phase, which counts a script call (`evalsha`) and each command it runs (`hincrby`, `sadd`, …), the delivery service's takes (`spop` inside a script) and publishes (`spublish`, one per announced change), heartbeats and the delivery worker's own polling. The Socket.IO adapter's `ssubscribe`/`sunsubscribe` (a room's channel, when its first socket on a pod joins or its last leaves) are Socket.IO's cost and shown apart. A connect or disconnect is one script call from the gateway (one round trip), with at most 7 commands inside. A presence event is one publish per change of a user's status, heard once by each co-member's sockets (so received = published × co-members online). In the reconnect storm every user is away for one reconnect (tens of ms): within the offline grace, so nothing changes and nothing is announced.",
    "",
  );
  return lines.join("\n");
}

function writeSection(root: string, body: string): void {
  const file = join(root, "docs", "benchmarks.md");
  const section = `${START}\n${body}\n${END}`;
  let text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n\nEach section is written by the benchmark named in it; rerun it to refresh the numbers.\n\n";
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from !== -1 && to > from) text = text.slice(0, from) + section + text.slice(to + END.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, text);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await runPresenceStorm();
  } catch (error) {
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
}
