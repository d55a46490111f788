// `npm run bench -- --only=fanout`: the issue-3 fan-out benchmark (also part of the full
// `npm run bench`).
//
//  1. Redis (noeviction) and PostgreSQL (fsync on), a fresh migrated database.
//  2. Two gateways, the persister and the delivery service, as child processes.
//  3. One group conversation of 1,000 members (created through the HTTP API), each member
//     one socket, half on each gateway, all in one forked load generator.
//  4. A ladder of rising message rates into that conversation through the durable path
//     (gateway → persister → Postgres → fan-out), every message due on a fixed schedule
//     and delivered to all 1,000 sockets (the sender's own included, as the contract says):
//     deliveries/s and due time → message:new latency, every delivery checked once, in
//     order, none missing; Postgres checked after every step.
//  5. The same ladder against two bare Socket.IO servers with the same sharded Redis adapter
//     broadcasting to the room (ceiling-server.ts).
//  6. docs/benchmarks.md between `bench:fanout` markers and bench-results/fanout-<stamp>.json.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createDatabase, freePort, signToken, startPostgres, startRedis } from "@parley/testkit";
import { BenchChild, waitReady } from "./child.js";
import { busyRoles, cpuBetween, type CpuSampler, type CpuSnapshot, type CpuUse } from "./cpu-sampler.js";
import { FanoutLoadGenerators } from "./fanout-generators.js";
import type { FanoutMember, FanoutResult, FanoutRun } from "./fanout-protocol.js";
import { writeFanoutResults, type FanoutResults, type FanoutStep } from "./fanout-report.js";
import { NEVER_MS, type AckedMessage } from "./loadgen-protocol.js";
import { pressureBetween, pressureSnapshot, type PressureSnapshot } from "./pressure.js";
import { counterDelta, histogramDelta, scrape, type Scrape } from "./prom-scrape.js";
import { codeInfo, machineInfo } from "./report.js";
import { settleOn } from "./settle.js";
import { verifyDatabase } from "./verify.js";

export const FANOUT_CONFIG = {
  members: 1000,
  /** Messages/s. Low steps show the unloaded latency; the search stops at the first failing step. */
  ladder: [1, 2, 5, 10, 20, 30, 40, 50, 60, 75, 100, 125, 150, 200, 250, 300, 400, 500],
  warmupMs: 2000,
  durationMs: 10_000,
  graceMs: 3000,
  /** Sustained: p99 due → message:new at most this, fewer than maxMissing of deliveries missing, none twice or out of order. */
  maxP99DeliveryMs: 250,
  maxMissing: 0.01,
  /** The API adds at most this many members per request (LIMITS.membersPerRequest). */
  membersPerRequest: 500,
  connectConcurrency: 20,
  /**
   * Load generator processes sharing the sockets and the sends (--fanout-generators=N): one
   * generator's thread was at 70–90 % of a core near the knee, a limit of the measurement.
   */
  loadGenerators: 2,
};

export interface FanoutContext {
  root: string;
  logDir: string;
  stamp: string;
  quick: boolean;
  cpu: CpuSampler;
  log: (line: string) => void;
  /** Steps run by the orchestrator on exit or interruption (last first). */
  cleanups: Array<() => Promise<void>>;
  /** Marks a child whose unexpected exit must stop the bench. */
  watch: (child: BenchChild) => BenchChild;
  unexpectedExits: readonly string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (ms: number) => (ms >= NEVER_MS ? "never" : Number.isFinite(ms) ? ms.toFixed(ms < 10 ? 2 : 1) : "—");

export const sustained = (r: FanoutResult) =>
  r.delivery.p99 <= FANOUT_CONFIG.maxP99DeliveryMs && r.missingRatio < FANOUT_CONFIG.maxMissing && r.duplicates === 0 && r.outOfOrder === 0 && r.mismatched === 0;

interface Target {
  kind: "durable" | "ceiling";
  loadgen: FanoutLoadGenerators;
  order: FanoutRun["order"];
  /** Waits until the previous step's work is done. */
  settle: () => Promise<void>;
  /** Checks Postgres after a step (durable only). */
  verify?: (acked: AckedMessage[]) => Promise<FanoutStep["verification"]>;
  /** The persister's /metrics (durable only): were commits slow while deliveries were late? */
  persisterMetrics?: string;
}

/** Waits (at most maxMs) until processes outside the bench use less than a third of a core. */
async function awaitQuietMachine(ctx: FanoutContext, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let warned = false;
  for (;;) {
    const a = ctx.cpu.snapshot();
    await sleep(1000);
    const others = cpuBetween(a, ctx.cpu.snapshot()).percentOfCore.others ?? 0;
    if (others < 33 || Date.now() >= deadline) {
      if (warned) ctx.log(`  other processes now at ${others}% of a core; going on`);
      return;
    }
    if (!warned) ctx.log(`  other processes on this machine use ${others}% of a core; waiting for them (at most ${maxMs / 1000} s)`);
    warned = true;
  }
}

async function measure(ctx: FanoutContext, target: Target, rate: number): Promise<FanoutStep> {
  if (ctx.unexpectedExits.length) throw new Error(`a process under test is gone: ${ctx.unexpectedExits.join("; ")}`);
  await awaitQuietMachine(ctx);
  const label = `fanout ${target.kind} ${rate}/s`;
  ctx.log(`${target.kind}: ${rate} msgs/s into the ${FANOUT_CONFIG.members}-member conversation (${rate * FANOUT_CONFIG.members} deliveries/s offered)`);
  let cpuStart: CpuSnapshot | undefined;
  let cpuEnd: CpuSnapshot | undefined;
  let metricsStart: Promise<Scrape> | undefined;
  let metricsEnd: Promise<Scrape> | undefined;
  let pressureStart: PressureSnapshot | undefined;
  let pressureEnd: PressureSnapshot | undefined;
  target.loadgen.onPhase = (phase) => {
    if (phase === "measure") {
      cpuStart = ctx.cpu.snapshot();
      pressureStart = pressureSnapshot();
      if (target.persisterMetrics) metricsStart = scrape(target.persisterMetrics);
    } else if (phase === "drain") {
      cpuEnd = ctx.cpu.snapshot();
      pressureEnd = pressureSnapshot();
      if (target.persisterMetrics) metricsEnd = scrape(target.persisterMetrics);
    }
  };
  const result = await target.loadgen.run({
    label,
    rate,
    warmupMs: FANOUT_CONFIG.warmupMs,
    durationMs: FANOUT_CONFIG.durationMs,
    graceMs: FANOUT_CONFIG.graceMs,
    order: target.order,
    collectAcked: target.verify !== undefined,
  });
  if (ctx.unexpectedExits.length) throw new Error(`a process under test died during the ${label} run: ${ctx.unexpectedExits.join("; ")}`);
  const cpu: CpuUse | undefined = cpuStart && cpuEnd ? cpuBetween(cpuStart, cpuEnd) : undefined;
  const { ackedMessages, ...summary } = result;
  const step: FanoutStep = { target: target.kind, rate, pass: sustained(result), result: summary, cpu };
  if (pressureStart && pressureEnd) step.pressure = pressureBetween(pressureStart, pressureEnd);
  if (metricsStart && metricsEnd) {
    const [before, after] = [await metricsStart, await metricsEnd];
    const commit = histogramDelta(before, after, "parley_persist_commit_duration_seconds");
    const lag = histogramDelta(before, after, "parley_persist_lag_seconds");
    if (commit && lag) step.persister = { commits: commit.count, commitMeanMs: commit.mean * 1000, commitMaxMs: commit.max * 1000, lagMeanMs: lag.mean * 1000, lagMaxMs: lag.max * 1000 };
  }
  ctx.log(
    `  → ${label}: ${result.deliveriesPerSecond} deliveries/s, delivery p50/p95/p99/max ${fmt(result.delivery.p50)}/${fmt(result.delivery.p95)}/${fmt(result.delivery.p99)}/${fmt(result.delivery.max)} ms, ` +
      `missing ${(result.missingRatio * 100).toFixed(3)}%, duplicates ${result.duplicates}, out of order ${result.outOfOrder}, ack p99 ${fmt(result.ack.p99)} ms` +
      `${Object.keys(result.errors).length ? ` errors ${JSON.stringify(result.errors)}` : ""} → ${step.pass ? "SUSTAINED" : "NOT SUSTAINED"}`,
  );
  if (!step.pass) ctx.log(`    worst delivery per second of the window (ms): ${result.deliveryMaxBySecond.map((v) => (v >= NEVER_MS ? "never" : String(v))).join(" ")}`);
  if (step.persister) {
    const p = step.persister;
    ctx.log(`    persister: ${p.commits} commits, mean ${p.commitMeanMs.toFixed(1)} ms, slowest ≤ ${p.commitMaxMs} ms; enqueue→commit mean ${p.lagMeanMs.toFixed(1)} ms, slowest ≤ ${p.lagMaxMs} ms`);
  }
  if (cpu) {
    ctx.log(
      `    cpu (% of one core): ${Object.entries(cpu.percentOfCore).filter(([, v]) => v > 0.5).map(([k, v]) => `${k} ${v}`).join(", ")}; machine busy ${cpu.machineBusyPercent}%` +
        `; stalled on cpu ${step.pressure?.cpuSomePercent ?? "?"}%, on io ${step.pressure?.ioSomePercent ?? "?"}% of the time`,
    );
  }
  await target.settle();
  if (target.verify) {
    step.verification = await target.verify(ackedMessages ?? []);
    const v = step.verification!;
    ctx.log(`    verify: ${v.ok ? "OK" : "FAILED"} (${v.ackedChecked} acked ids, ${v.totalRows} rows)`);
    for (const problem of v.problems) ctx.log(`    VERIFY FAILED: ${problem}`);
  }
  return step;
}

/**
 * Climbs the ladder from `startIndex` until a step is not sustained (stepping down instead
 * when the first one fails), then tries once between the best sustained and the first
 * failing rate. A failing step is measured once more; the second attempt decides.
 */
async function climb(ctx: FanoutContext, target: Target, startIndex: number, steps: FanoutStep[]): Promise<{ max: number; firstFail: number | undefined }> {
  const tried = new Map<number, boolean>();
  const step = async (rate: number): Promise<boolean> => {
    if (tried.has(rate)) return tried.get(rate)!;
    let record = await measure(ctx, target, rate);
    steps.push(record);
    // This machine is shared: other sessions' builds take CPU, and their databases the disk
    // (a 1 s fsync stall fails a 10 s step at low rates). Any failing step is measured once
    // more, for both targets alike; both attempts are reported.
    if (!record.pass) {
      ctx.log(`  not sustained (other processes used ${record.cpu?.percentOfCore.others ?? "?"}% of a core meanwhile); measuring it once more`);
      record.discarded = true;
      record = await measure(ctx, target, rate);
      steps.push(record);
    }
    tried.set(rate, record.pass);
    return record.pass;
  };
  const ladder = FANOUT_CONFIG.ladder;
  let pass: number | undefined;
  let fail: number | undefined;
  for (let i = startIndex; i < ladder.length && fail === undefined; i++) {
    if (await step(ladder[i]!)) pass = ladder[i];
    else fail = ladder[i];
  }
  for (let i = startIndex - 1; pass === undefined && i >= 0; i--) {
    if (await step(ladder[i]!)) pass = ladder[i];
    else fail = ladder[i];
  }
  if (pass !== undefined && fail !== undefined) {
    const mid = Math.round((pass + fail) / 2);
    if (mid > pass && mid < fail) {
      if (await step(mid)) pass = mid;
      else fail = mid;
    }
  }
  return { max: pass ?? 0, firstFail: fail };
}

async function idleCpu(ctx: FanoutContext, kind: string): Promise<CpuUse> {
  await awaitQuietMachine(ctx);
  const a = ctx.cpu.snapshot();
  await sleep(3000);
  const use = cpuBetween(a, ctx.cpu.snapshot());
  ctx.log(`  idle ${kind}, ${FANOUT_CONFIG.members} sockets connected (% of one core): ${busyRoles(use)}`);
  return use;
}

/** The conversation through the HTTP API, as an app would make it: create, then add the rest in pages. */
async function createConversation(gatewayUrl: string, tokens: string[], userIds: string[]): Promise<string> {
  const call = async (path: string, body: unknown): Promise<{ conversation?: { id: string; members?: unknown[] } }> => {
    const response = await fetch(`${gatewayUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${tokens[0]}` },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as { conversation?: { id: string; members?: unknown[] } };
    if (!response.ok || !json.conversation) throw new Error(`POST ${path}: HTTP ${response.status} ${JSON.stringify(json).slice(0, 300)}`);
    return json;
  };
  const page = FANOUT_CONFIG.membersPerRequest;
  const others = userIds.slice(1);
  const created = await call("/v1/conversations", { kind: "group", title: `fan-out ${userIds.length}`, memberIds: others.slice(0, page) });
  const id = created.conversation!.id;
  let members = created.conversation!.members?.length ?? 0;
  for (let from = page; from < others.length; from += page) {
    const updated = await call(`/v1/conversations/${id}/members`, { userIds: others.slice(from, from + page) });
    members = updated.conversation!.members?.length ?? 0;
  }
  if (members !== userIds.length) throw new Error(`the conversation has ${members} members, not ${userIds.length}`);
  return id;
}

export async function runFanout(ctx: FanoutContext): Promise<FanoutResults> {
  const started = Date.now();
  const { root, logDir, log } = ctx;
  if (ctx.quick) Object.assign(FANOUT_CONFIG, { warmupMs: 1000, durationMs: 5000, graceMs: 2000 });
  // --fanout-rates=10,50,100: another ladder (to look closer at a knee, or for a short run).
  const rates = process.argv.find((a) => a.startsWith("--fanout-rates="))?.slice("--fanout-rates=".length);
  if (rates) FANOUT_CONFIG.ladder = rates.split(",").map(Number).filter((r) => r > 0).sort((a, b) => a - b);
  // --fanout-generators=1: one generator process, as the bench had before (to compare).
  const generators = Number(process.argv.find((a) => a.startsWith("--fanout-generators="))?.slice("--fanout-generators=".length));
  if (Number.isInteger(generators) && generators > 0) FANOUT_CONFIG.loadGenerators = generators;
  const code = codeInfo(root);
  const loadBefore = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  log(`fan-out: code ${code.commit}${code.dirty.length ? ` + uncommitted changes in ${code.dirty.join(", ")}` : ""}; load average ${loadBefore}`);
  log("fan-out phase 1: Redis and PostgreSQL (fsync on)");
  const redis = await startRedis({ infra: "local" });
  ctx.cleanups.push(() => redis.close());
  const pg = await startPostgres({ infra: "local", durable: true });
  ctx.cleanups.push(() => pg.close());
  const db = await createDatabase(pg.url, { prefix: "parley_fanout" });
  ctx.cleanups.push(() => db.drop());

  log("fan-out phase 2: two gateways, the persister and the delivery service");
  const jwtSecret = randomBytes(24).toString("hex");
  // Every load-generator socket comes from 127.0.0.1: no per-address cap.
  const common = { REDIS_URL: redis.url, DATABASE_URL: db.url, LOG_LEVEL: "warn", NODE_ENV: "production", JWT_SECRET: jwtSecret, SOCKETS_PER_IP_MAX: "0" };
  // --fanout-profile: CPU profiles of every node process of the bench: the gateways, the persister, the delivery
  // service, the bare servers and the load generators (written when they exit).
  const profileDir = join(logDir, "profiles");
  const profile = process.argv.includes("--fanout-profile") ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-interval=500"] : [];
  if (profile.length) log(`  CPU profiles of the socket servers and load generators go to ${profileDir}`);
  // One user makes the whole conversation: its member adds must fit one minute's budget.
  const gatewayOnly = { MEMBER_ADDS_PER_MINUTE: String(Math.max(600, FANOUT_CONFIG.members)) };
  const gatewayPorts = [await freePort(), await freePort()];
  const gateways = gatewayPorts.map((port, i) => {
    const name = `gateway-${"ab"[i]}`;
    const child = ctx.watch(BenchChild.spawn(name, join(root, "services/gateway/dist/server.js"), { ...common, ...gatewayOnly, PORT: String(port), HOST: "127.0.0.1", POD_NAME: `fanout-${name}` }, join(logDir, `fanout-${name}.log`), profile));
    ctx.cpu.name(child.pid, name);
    ctx.cleanups.push(() => child.stop());
    return child;
  });
  const workers: Array<{ child: BenchChild; port: number }> = [];
  for (const name of ["persister", "delivery"]) {
    const script = join(root, `services/${name}/dist/server.js`);
    if (!existsSync(script)) continue;
    const port = await freePort();
    const child = ctx.watch(BenchChild.spawn(name, script, { ...common, METRICS_PORT: String(port), POD_NAME: `fanout-${name}` }, join(logDir, `fanout-${name}.log`), profile));
    ctx.cpu.name(child.pid, name);
    ctx.cleanups.push(() => child.stop());
    workers.push({ child, port });
  }
  const gatewayUrls = gatewayPorts.map((port) => `http://127.0.0.1:${port}`);
  await Promise.all([...gateways.map((g, i) => waitReady(`${gatewayUrls[i]}/readyz`, g)), ...workers.map((w) => waitReady(`http://127.0.0.1:${w.port}/readyz`, w.child))]);
  const persisterMetrics = `http://127.0.0.1:${workers[0]!.port}/metrics`;

  log(`fan-out phase 3: one conversation of ${FANOUT_CONFIG.members} members, half of them on each gateway`);
  const userIds = Array.from({ length: FANOUT_CONFIG.members }, (_, u) => `fanout-user-${u}`);
  const tokens = await Promise.all(userIds.map((sub, u) => signToken({ sub, name: `Fan-out ${u}`, secret: jwtSecret, expiresInSeconds: 3 * 3600 })));
  const conversationId = await createConversation(gatewayUrls[0]!, tokens, userIds);
  const layout = (withTokens: boolean): FanoutMember[] => userIds.map((userId, u) => ({ userId, server: u % 2, ...(withTokens ? { token: tokens[u]! } : {}) }));

  const startLoadgen = (label: string) => {
    const children = Array.from({ length: FANOUT_CONFIG.loadGenerators }, (_, g) => {
      const name = `fanout-loadgen-${label}-${g + 1}`;
      const child = BenchChild.fork(name, join(root, "tools/bench/dist/fanout-loadgen.js"), join(logDir, `${name}.log`), profile, "advanced");
      // Every generator counts as "loadgen": their CPU adds up.
      ctx.cpu.name(child.pid, "loadgen");
      return child;
    });
    const loadgen = new FanoutLoadGenerators(children, log);
    ctx.cleanups.push(() => loadgen.close());
    return loadgen;
  };
  log(`  ${FANOUT_CONFIG.loadGenerators} load generator process(es), the sockets and the sends split between them`);
  const durableLoadgen = startLoadgen("durable");
  await durableLoadgen.connect(gatewayUrls, conversationId, layout(true), FANOUT_CONFIG.connectConcurrency);
  const idleDurable = await idleCpu(ctx, "durable cluster");

  const steps: FanoutStep[] = [];
  let verified = true;
  const durable: Target = {
    kind: "durable",
    loadgen: durableLoadgen,
    order: "conversation",
    // A failed step can leave a queue behind that must not load the next one.
    settle: async () => {
      await settleOn(async () => counterDelta(new Map(), await scrape(persisterMetrics), "parley_persist_messages_total"));
    },
    persisterMetrics,
    verify: async (acked) => {
      const v = await verifyDatabase(db.url, acked);
      if (!v.ok) verified = false;
      return v;
    },
  };
  log("fan-out phase 4: the durable path, rising rates");
  const durableMax = await climb(ctx, durable, 0, steps);
  log(`  durable: ${durableMax.max} msgs/s sustained = ${durableMax.max * FANOUT_CONFIG.members} deliveries/s (first failing step ${durableMax.firstFail ?? "none"})`);
  await durableLoadgen.close();
  await Promise.all([...gateways.map((g) => g.stop()), ...workers.map((w) => w.child.stop())]);

  log("fan-out phase 5: the ceiling (bare Socket.IO + sharded Redis adapter, broadcast to the room)");
  const ceilingPorts = [await freePort(), await freePort()];
  const ceilings = ceilingPorts.map((port, i) => {
    const name = `ceiling-${"ab"[i]}`;
    const child = ctx.watch(BenchChild.spawn(name, join(root, "tools/bench/dist/ceiling-server.js"), { REDIS_URL: redis.url, PORT: String(port) }, join(logDir, `fanout-${name}.log`), profile));
    ctx.cpu.name(child.pid, name);
    ctx.cleanups.push(() => child.stop());
    return child;
  });
  const ceilingUrls = ceilingPorts.map((port) => `http://127.0.0.1:${port}`);
  await Promise.all(ceilings.map((c, i) => waitReady(`${ceilingUrls[i]}/`, c)));
  const ceilingLoadgen = startLoadgen("ceiling");
  await ceilingLoadgen.connect(ceilingUrls, conversationId, layout(false), FANOUT_CONFIG.connectConcurrency);
  const idleCeiling = await idleCpu(ctx, "ceiling");
  const ceiling: Target = { kind: "ceiling", loadgen: ceilingLoadgen, order: "per-server", settle: async () => { await sleep(1000); } };
  // The bare stack should sustain at least what the durable path did: start one rung below
  // the highest rung at or under it (the durable maximum may be a midpoint off the ladder).
  const atOrBelow = FANOUT_CONFIG.ladder.filter((rate) => rate <= durableMax.max).length - 1;
  const startIndex = Math.max(0, atOrBelow - 1);
  const ceilingMax = await climb(ctx, ceiling, startIndex, steps);
  log(`  ceiling: ${ceilingMax.max} msgs/s sustained = ${ceilingMax.max * FANOUT_CONFIG.members} deliveries/s (first failing step ${ceilingMax.firstFail ?? "none"})`);
  await ceilingLoadgen.close();
  await Promise.all(ceilings.map((c) => c.stop()));

  const results: FanoutResults = {
    date: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(" ") || "(full run)"}`,
    machine: machineInfo(),
    code,
    loadAverageBefore: loadBefore,
    loadAverageAfter: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
    config: { ...FANOUT_CONFIG, quick: ctx.quick, workers: workers.map((w) => w.child.name) },
    steps,
    idle: { durable: idleDurable, ceiling: idleCeiling },
    durableMax: durableMax.max,
    durableFirstFail: durableMax.firstFail,
    ceilingMax: ceilingMax.max,
    ceilingFirstFail: ceilingMax.firstFail,
    ratio: ceilingMax.max > 0 ? durableMax.max / ceilingMax.max : Number.NaN,
    verified: verified && steps.every((s) => s.result.duplicates === 0 && s.result.outOfOrder === 0 && s.result.mismatched === 0),
    totalSeconds: Math.round((Date.now() - started) / 1000),
  };
  const { json, markdown } = writeFanoutResults(root, results, ctx.stamp);
  log(`fan-out: durable ${results.durableMax * FANOUT_CONFIG.members} deliveries/s, ceiling ${results.ceilingMax * FANOUT_CONFIG.members} deliveries/s, ratio ${results.ratio.toFixed(2)} (target ≥ 0.7); checks ${results.verified ? "OK" : "FAILED"}`);
  log(`wrote ${markdown} and ${json}`);
  return results;
}
