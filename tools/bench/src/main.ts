// `npm run bench`: the issue-2 benchmark, start to finish, on this machine.
//
//  1. Redis (noeviction) and PostgreSQL (fsync on), a fresh migrated database.
//  2. The system under test: two gateways and one persister, as child processes.
//  3. 1,000 users in 200 five-member conversations, each conversation spread over both
//     gateways; one socket per user in a forked load generator.
//  4. Fixed rates (300 and 1,000 msgs/s), then a search for the maximum sustainable
//     durable rate (p99 send→ack ≤ 250 ms and shortfall < 1 %), verifying Postgres after
//     every run.
//  5. The ceiling: two bare Socket.IO servers with the same sharded Redis adapter, searched
//     the same way.
//  6. docs/benchmarks.md (the issue-2 section) and bench-results/<stamp>.json.
//  7. The search benchmark (search-bench.ts; `--only=search` runs it alone).
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_KEYSPACE, defaultPersistPartitions } from "@parley/bus";
import { createDatabase, freePort, signToken, startPostgres, startRedis, startRedisCluster, type ServerHandle, type TestDatabase } from "@parley/testkit";
import { BenchChild, waitReady } from "./child.js";
import { busyRoles, CpuSampler, cpuBetween, type CpuSnapshot, type CpuUse } from "./cpu-sampler.js";
import { NEVER_MS, type BenchUser, type Command, type RefusedSend, type Report, type RunCommand, type RunResult } from "./loadgen-protocol.js";
import { counterDelta, histogramDelta, scrape, type HistogramDelta, type Scrape } from "./prom-scrape.js";
import { codeInfo, machineInfo, writeResults, type BenchResults, type RunRecord } from "./report.js";
import { seedHistory } from "./seed.js";
import { settleOn } from "./settle.js";
import { runSearchBench, searchMessagesArg } from "./search-bench.js";
import { tablesBetween, tableStats, type TableCounts } from "./pg-stats.js";
import { commandStatsOf, entriesAddedOf, redisBetween, type CommandCounts } from "./redis-stats.js";
import { writeTopologySection } from "./topology-report.js";
import { verifyDatabase } from "./verify.js";
import { runPresenceStorm } from "./presence-storm.js";
import { runFanout } from "./fanout.js";
import { OVERLOAD_FACTORS, overloadStep, refusedFoundStored, writeOverloadSection, type OverloadStep } from "./overload-report.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../../..");

export const CONFIG = {
  users: 1000,
  conversations: 200,
  membersPerConversation: 5,
  fixedRates: [300, 1000],
  fixedWarmupMs: 3000,
  fixedDurationMs: 20_000,
  searchStart: 1000,
  searchFactor: 1.5,
  searchWarmupMs: 2000,
  searchDurationMs: 10_000,
  /** Bisection steps between the highest passing and the lowest failing rate. */
  searchRefineSteps: 2,
  searchMaxSteps: 9,
  graceMs: 3000,
  maxP99AckMs: 250,
  /** The overload steps (overload-report.ts): each factor of the maximum, open loop. */
  overloadWarmupMs: 3000,
  overloadDurationMs: 20_000,
  maxShortfall: 0.01,
  connectConcurrency: 20,
};

const quick = process.argv.includes("--quick");
/**
 * --only=NAME[,NAME]: just those benchmarks (message-path, overload, fanout, presence, search);
 * without it, all of them in that order. `topologies` (only when named) runs the durable path's
 * fixed rates and maximum on one Redis server, then on a 3-master Redis Cluster, and compares them. `overload` runs the message path's search for the
 * maximum (without the ceiling when message-path is not asked for), then 1.5× and 2× of it.
 */
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const wants = (part: string) => only === undefined || only.includes(part);
/** --no-fsync: PostgreSQL with fsync/synchronous_commit off, to see what the disk costs (not the durable configuration). */
const fsync = !process.argv.includes("--no-fsync");
/** --seed-messages N: start from N stored history messages (analyzed) instead of an empty table. */
const seedArg = process.argv.find((a) => a.startsWith("--seed-messages="));
const seedMessages = seedArg ? Number(seedArg.split("=")[1]) : 0;
/**
 * --messages=unpartitioned ran today's code on a database migrated only through 0012 (before
 * `messages` was partitioned). Today's services need tables of later migrations (user_bans,
 * 0014: every conversation creation answered 500 on the 0012 schema, 2026-12-07), which build
 * on 0013's partitioning, so the option stops with what to do instead.
 */
if (process.argv.some((a) => a.startsWith("--messages=unpartitioned"))) {
  process.stderr.write(
    "--messages=unpartitioned: today's services need migrations after 0012 (user_bans, 0014), which build on 0013's partitioned tables;\n" +
      "compare with a worktree at the commit before migration 0013 instead (docs/benchmarks.md, \"Partitioned vs unpartitioned messages\").\n",
  );
  process.exit(2);
}
const messagesLayout = "partitioned" as const;
/**
 * --profile: V8 CPU profiles (`--cpu-prof`, 500 µs sampling) of the gateways, the persister and
 * the ceiling servers for the whole message-path run, in the run's log folder under profiles/;
 * read them with `node tools/bench/dist/profile-summary.js FILE.cpuprofile`.
 */
const profileArgs = (dir: string) =>
  process.argv.includes("--profile") ? ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=500"] : [];
if (quick) {
  Object.assign(CONFIG, { fixedDurationMs: 8000, searchDurationMs: 5000, searchRefineSteps: 1, fixedWarmupMs: 2000, searchWarmupMs: 1000, overloadWarmupMs: 2000, overloadDurationMs: 8000 });
}

const log = (line: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (ms: number) => (ms >= NEVER_MS ? "never" : Number.isFinite(ms) ? ms.toFixed(ms < 10 ? 2 : 1) : "—");

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const resultsDir = join(ROOT, "bench-results");
const logDir = join(resultsDir, `logs-${stamp}`);
mkdirSync(logDir, { recursive: true });

const cpu = new CpuSampler();
const cleanups: Array<() => Promise<void>> = [];
const cleanup = async () => {
  for (const step of cleanups.splice(0).reverse()) {
    try {
      await step();
    } catch (error) {
      log(`cleanup step failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
};
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    log(`${signal}: stopping everything`);
    void cleanup().then(() => process.exit(130));
  });
}

/**
 * A process under test that exits by itself (or is killed from outside: this machine may be
 * shared) makes every later number meaningless: say so loudly and stop the bench.
 */
const unexpectedExits: string[] = [];
function watch(child: BenchChild): BenchChild {
  child.onUnexpectedExit = (how) => {
    const line = `${child.name} (pid ${child.pid}) exited during the bench: ${how}. ${how.includes("SIGTERM") || how.includes("SIGKILL") ? "Something outside the bench signalled it." : "See its log."}`;
    unexpectedExits.push(line);
    log(`FATAL: ${line}`);
  };
  return child;
}

/** The forked load generator, driven by commands. */
class LoadGenerator {
  private waiting: { resolve: (r: Report) => void; reject: (e: Error) => void; types: Report["type"][] } | undefined;
  private constructor(readonly child: BenchChild, private readonly label: string) {
    child.process.on("message", (report: Report) => this.onReport(report));
    child.process.once("exit", (code) => this.waiting?.reject(new Error(`load generator exited (${code})`)));
  }

  static start(label: string): LoadGenerator {
    const child = BenchChild.fork(`loadgen-${label}`, join(HERE, "loadgen.js"), join(logDir, `loadgen-${label}.log`));
    cpu.name(child.pid, "loadgen");
    return new LoadGenerator(child, label);
  }

  onPhase: ((phase: string) => void) | undefined;

  private onReport(report: Report): void {
    if (report.type === "progress") {
      log(`  [${report.label}] t=${(report.elapsedMs / 1000).toFixed(0)}s sent=${report.sent} acked=${report.acked} failed=${report.failed} pending=${report.pending} delivered=${report.delivered}`);
    } else if (report.type === "phase") {
      this.onPhase?.(report.phase);
    } else if (report.type === "error" && !this.waiting?.types.includes("error")) {
      log(`  loadgen (${this.label}): ${report.message}`);
    }
    if (this.waiting?.types.includes(report.type)) {
      const { resolve } = this.waiting;
      this.waiting = undefined;
      resolve(report);
    }
  }

  private request(command: Command, types: Report["type"][]): Promise<Report> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject, types };
      this.child.process.send(command);
    });
  }

  async connect(urls: string[], users: BenchUser[]): Promise<void> {
    const report = await this.request({ type: "connect", urls, users, concurrency: CONFIG.connectConcurrency }, ["connected", "error"]);
    if (report.type === "error") throw new Error(`load generator could not connect: ${report.message}`);
    if (report.type === "connected") log(`${report.sockets} sockets connected in ${report.ms} ms`);
  }

  async run(command: Omit<RunCommand, "type">): Promise<RunResult> {
    const report = await this.request({ type: "run", ...command }, ["result"]);
    if (report.type !== "result") throw new Error("unexpected answer from the load generator");
    return report.result;
  }

  async close(): Promise<void> {
    if (this.child.hasExited) return;
    this.child.process.send({ type: "close" });
    await Promise.race([new Promise((r) => this.child.process.once("exit", r)), sleep(3000)]);
    await this.child.stop(2000);
  }
}

/** Users laid out so consecutive senders hit different conversations and both servers. */
function layout(conversationIds: string[], tokens?: string[]): BenchUser[] {
  return Array.from({ length: CONFIG.users }, (_, u) => {
    const c = u % CONFIG.conversations;
    const slot = Math.floor(u / CONFIG.conversations);
    return { userId: `bench-user-${u}`, server: (c + slot) % 2, conversationId: conversationIds[c]!, ...(tokens ? { token: tokens[u]! } : {}) };
  });
}

interface Target {
  kind: "durable" | "ceiling";
  /** Every Redis server holding data (one, or a cluster's masters): command counts are summed over them. */
  redisUrls: string[];
  /** The persist partitions' streams (durable only): entries appended, summed. */
  persistStreams?: string[];
  /** The durable path's database, for table access counters. */
  databaseUrl?: string;
  loadgen: LoadGenerator;
  /** Metrics endpoints to diff across the measured window. */
  metricsUrls: Record<string, string>;
  /** Waits until the system has finished the previous run's work. */
  settle: () => Promise<void>;
  /** Checks the stored data (durable only). */
  verify?: (result: RunResult) => Promise<RunRecord["verification"]>;
}

/** Other processes on the machine took a third of a core or more during the window. */
const contaminated = (r: RunRecord) => (r.cpu?.percentOfCore.others ?? 0) >= 33;

const passes = (r: RunResult) => r.ack.p99 <= CONFIG.maxP99AckMs && r.shortfall < CONFIG.maxShortfall;

/**
 * The machine may be shared (other builds and tests): before a step, wait until processes
 * outside the bench use less than a third of a core, at most `maxMs`; the step records what
 * they used during its window either way.
 */
async function awaitQuietMachine(maxMs = 20_000): Promise<number> {
  const deadline = Date.now() + maxMs;
  let warned = false;
  for (;;) {
    const a = cpu.snapshot();
    await sleep(1000);
    const others = cpuBetween(a, cpu.snapshot()).percentOfCore.others ?? 0;
    if (others < 33 || Date.now() >= deadline) {
      if (warned) log(`  other processes now at ${others}% of a core; going on`);
      return others;
    }
    if (!warned) log(`  other processes on this machine use ${others}% of a core; waiting for them (at most ${maxMs / 1000} s)`);
    warned = true;
  }
}

/** A send refused before queuing was found stored in some step: the run fails. */
let refusedStoredAnywhere = false;

async function measure(target: Target, rate: number, phase: RunRecord["phase"]): Promise<RunRecord & { refusedSends?: RefusedSend[] }> {
  const label = `${target.kind} ${rate}/s`;
  if (unexpectedExits.length) throw new Error(`a process under test is gone: ${unexpectedExits.join("; ")}`);
  await awaitQuietMachine();
  log(`${target.kind}: ${phase === "fixed" ? "fixed rate" : phase === "overload" ? "overload step" : "search step"} ${rate} msgs/s`);
  let cpuStart: CpuSnapshot | undefined;
  let cpuEnd: CpuSnapshot | undefined;
  let redisStart: Promise<CommandCounts> | undefined;
  let redisEnd: Promise<CommandCounts> | undefined;
  let tablesStart: Promise<TableCounts> | undefined;
  let tablesEnd: Promise<TableCounts> | undefined;
  let entriesStart: Promise<number | undefined> | undefined;
  let entriesEnd: Promise<number | undefined> | undefined;
  let metricsStart: Record<string, Promise<Scrape>> = {};
  let metricsEnd: Record<string, Promise<Scrape>> = {};
  const scrapeAll = () => Object.fromEntries(Object.entries(target.metricsUrls).map(([name, url]) => [name, scrape(url)]));
  target.loadgen.onPhase = (p) => {
    if (p === "measure") {
      cpuStart = cpu.snapshot();
      metricsStart = scrapeAll();
      redisStart = commandStatsOf(target.redisUrls);
      if (target.persistStreams) entriesStart = entriesAddedOf(target.redisUrls, target.persistStreams);
      if (target.databaseUrl) tablesStart = tableStats(target.databaseUrl);
    } else if (p === "drain") {
      cpuEnd = cpu.snapshot();
      metricsEnd = scrapeAll();
      redisEnd = commandStatsOf(target.redisUrls);
      if (target.persistStreams) entriesEnd = entriesAddedOf(target.redisUrls, target.persistStreams);
      if (target.databaseUrl) tablesEnd = tableStats(target.databaseUrl);
    }
  };
  const result = await target.loadgen.run({
    rate,
    label,
    warmupMs: phase === "fixed" ? CONFIG.fixedWarmupMs : phase === "overload" ? CONFIG.overloadWarmupMs : CONFIG.searchWarmupMs,
    durationMs: phase === "fixed" ? CONFIG.fixedDurationMs : phase === "overload" ? CONFIG.overloadDurationMs : CONFIG.searchDurationMs,
    graceMs: CONFIG.graceMs,
    collectAcked: target.verify !== undefined,
  });
  if (unexpectedExits.length) throw new Error(`a process under test died during the ${label} run: ${unexpectedExits.join("; ")}`);
  const cpuUse = cpuStart && cpuEnd ? cpuBetween(cpuStart, cpuEnd) : undefined;
  const metrics: Record<string, Record<string, HistogramDelta | number | undefined>> = {};
  for (const name of Object.keys(target.metricsUrls)) {
    const before = await (metricsStart[name] ?? Promise.resolve(new Map()));
    const after = await (metricsEnd[name] ?? Promise.resolve(new Map()));
    metrics[name] =
      name === "persister"
        ? {
            batchSize: histogramDelta(before, after, "parley_persist_batch_size"),
            commitSeconds: histogramDelta(before, after, "parley_persist_commit_duration_seconds"),
            lagSeconds: histogramDelta(before, after, "parley_persist_lag_seconds"),
            messages: counterDelta(before, after, "parley_persist_messages_total"),
          }
        : {
            sendAckSeconds: histogramDelta(before, after, "parley_gateway_send_ack_seconds"),
            // Left out when a scrape failed (a loaded machine can miss the 3 s scrape time-out).
            admissionRefused: before.has("parley_gateway_admission_refused_total") && after.has("parley_gateway_admission_refused_total") ? counterDelta(before, after, "parley_gateway_admission_refused_total") : undefined,
          };
  }
  const { ackedMessages, refusedSends, ...summary } = result;
  const redisUse =
    redisStart && redisEnd && cpuUse ? redisBetween(await redisStart, await redisEnd, cpuUse.seconds, Math.round(rate * cpuUse.seconds)) : undefined;
  const record: RunRecord = { target: target.kind, phase, rate, pass: passes(result), result: summary, cpu: cpuUse, metrics, redis: redisUse };
  log(
    `  → ${label}: ack p50/p95/p99 ${fmt(result.ack.p50)}/${fmt(result.ack.p95)}/${fmt(result.ack.p99)} ms, ` +
      `delivery p50/p95/p99 ${fmt(result.delivery.p50)}/${fmt(result.delivery.p95)}/${fmt(result.delivery.p99)} ms, ` +
      `shortfall ${(result.shortfall * 100).toFixed(2)}% ${Object.keys(result.errors).length ? JSON.stringify(result.errors) : ""}` +
      ` deliveries ${result.deliveriesReceived}/${result.deliveriesExpected} → ${record.pass ? "PASS" : "FAIL"}`,
  );
  if (!record.pass || result.ack.p99 > 50) {
    log(`    worst ack per second of the window (ms): ${result.ackMaxBySecond.map((v) => (v >= NEVER_MS ? "never" : String(v))).join(" ")}`);
  }
  if (cpuUse) {
    log(`    cpu (% of one core): ${Object.entries(cpuUse.percentOfCore).filter(([, v]) => v > 0.5).map(([k, v]) => `${k} ${v}`).join(", ")}; machine busy ${cpuUse.machineBusyPercent}% of ${navigatorCores()} cores`);
  }
  const [entriesA, entriesB] = [await entriesStart, await entriesEnd];
  if (tablesStart && tablesEnd) {
    record.tables = tablesBetween(await tablesStart, await tablesEnd);
    const m = record.tables.messages;
    if (m) log(`    postgres messages table: ${m.seqScans} sequential scans reading ${m.rowsReadBySeqScans} rows (${Math.round(m.rowsReadBySeqScans / Math.max(1, rate * (cpuUse?.seconds ?? 1)))} per message), ${m.indexScans} index scans; ${m.liveRowsAtEnd} rows`);
  }
  if (redisUse && entriesA !== undefined && entriesB !== undefined && cpuUse) {
    redisUse.persistEntries = entriesB - entriesA;
    redisUse.messagesPerEntry = Math.round((rate * cpuUse.seconds / Math.max(1, entriesB - entriesA)) * 100) / 100;
  }
  if (redisUse) {
    if (redisUse.persistEntries !== undefined) log(`    persist stream entries: ${redisUse.persistEntries} in the window, ${redisUse.messagesPerEntry} messages per entry`);
    log(`    redis: ${redisUse.callsPerSecond} commands/s = ${redisUse.callsPerMessage} per message (${redisUse.commandCpuPercent}% of a core inside commands); top: ${redisUse.top.slice(0, 5).map(([n, c]) => `${n} ${c}`).join(", ")}`);
  }
  const persister = metrics.persister;
  if (persister?.batchSize && typeof persister.batchSize === "object") {
    const b = persister.batchSize;
    const c = persister.commitSeconds as HistogramDelta | undefined;
    const lag = persister.lagSeconds as HistogramDelta | undefined;
    log(`    persister: ${b.count} commits, mean batch ${b.mean.toFixed(1)} msgs, mean commit ${c ? (c.mean * 1000).toFixed(1) : "—"} ms, entry added→commit mean ${lag ? (lag.mean * 1000).toFixed(1) : "—"} ms, p99 ≤ ${lag ? lag.p99 * 1000 : "—"} ms (bucket)`);
  }
  if (target.kind === "durable") {
    const counts = Object.entries(metrics).filter(([name]) => name.startsWith("gateway")).map(([, m]) => m.admissionRefused);
    const refused = counts.every((c) => typeof c === "number") ? String(counts.reduce<number>((sum, c) => sum + (c as number), 0)) : "unknown (a /metrics scrape failed)";
    log(`    admission control: ${refused} sends refused before queuing by the gateways`);
  }
  await target.settle();
  if (phase === "overload") {
    log(`    overload: ${result.acked} acked ok (p99 ${fmt(result.ackOk.p99)} ms), ${result.refusedBeforeQueuing} refused before queuing, errors ${JSON.stringify(result.errors)}, ${result.unanswered} unanswered`);
  }
  if (target.verify) {
    record.verification = await target.verify({ ...result, ...(ackedMessages ? { ackedMessages } : {}) });
    if (phase !== "overload" && target.databaseUrl && refusedSends?.length) {
      // Any step can be an overload on a shared machine: its refusals are checked too (the
      // overload steps are checked by their caller, which reports the count).
      const stored = await refusedFoundStored(target.databaseUrl, refusedSends);
      log(`    refused before queuing: ${refusedSends.length} sends, ${stored} of them found stored`);
      if (stored > 0 && record.verification) {
        record.verification.ok = false;
        record.verification.problems.push(`${stored} sends refused before queuing were stored`);
      }
      if (stored > 0) refusedStoredAnywhere = true;
    }
    const v = record.verification!;
    log(`    verify: ${v.ok ? "OK" : "FAILED"} (${v.ackedChecked} acked ids checked, ${v.totalRows} rows, ${v.conversationsChecked} conversations, ${v.ms} ms)`);
    if (!v.ok) for (const problem of v.problems) log(`    VERIFY FAILED: ${problem}`);
  }
  return refusedSends ? { ...record, refusedSends } : record;
}

/**
 * Maximum sustainable rate: geometric steps up from `start` until a step fails (or down
 * until one passes), then bisection between the best pass and the first fail.
 */
async function search(target: Target, start: number, known: RunRecord[], runs: RunRecord[]): Promise<{ max: number; firstFail: number | undefined }> {
  // A fixed-rate run counts as a search step only if the machine was not shared meanwhile.
  const tried = new Map<number, boolean>(known.filter((r) => !contaminated(r)).map((r) => [r.rate, r.pass]));
  const step = async (rate: number) => {
    if (tried.has(rate)) return tried.get(rate)!;
    let record = await measure(target, rate, "search");
    runs.push(record);
    if (!record.pass && contaminated(record)) {
      // A failure while other processes took a third of a core or more says little: once more.
      log(`  other processes used ${record.cpu?.percentOfCore.others}% of a core during that step; repeating it`);
      record.discarded = true;
      record = await measure(target, rate, "search");
      runs.push(record);
    }
    tried.set(rate, record.pass);
    return record.pass;
  };
  let pass: number | undefined;
  let fail: number | undefined;
  let rate = start;
  let steps = 0;
  const round = (r: number) => Math.max(50, Math.round(r / 50) * 50);
  while (steps++ < CONFIG.searchMaxSteps && fail === undefined) {
    if (await step(rate)) {
      pass = rate;
      rate = round(rate * CONFIG.searchFactor);
    } else fail = rate;
  }
  while (pass === undefined && fail !== undefined && fail > 50 && steps++ < CONFIG.searchMaxSteps) {
    rate = round(fail / CONFIG.searchFactor);
    if (rate === fail) break;
    if (await step(rate)) pass = rate;
    else fail = rate;
  }
  for (let i = 0; i < CONFIG.searchRefineSteps && pass !== undefined && fail !== undefined && steps++ < CONFIG.searchMaxSteps + CONFIG.searchRefineSteps; i++) {
    const mid = round((pass + fail) / 2);
    if (mid <= pass || mid >= fail) break;
    if (await step(mid)) pass = mid;
    else fail = mid;
  }
  return { max: pass ?? 0, firstFail: fail };
}

function navigatorCores(): number {
  return machineInfo().cores;
}

async function idleBaseline(kind: string): Promise<CpuUse> {
  await awaitQuietMachine();
  const a = cpu.snapshot();
  await sleep(3000);
  const use = cpuBetween(a, cpu.snapshot());
  log(`  idle ${kind} cluster, sockets connected, no messages (% of one core): ${busyRoles(use)}`);
  return use;
}

/** What a durable-only run (no ceiling) found, for the topology comparison. */
interface DurableSummary {
  durableMax: number;
  ackP99At1000: number | undefined;
  verified: boolean;
  runs: RunRecord[];
}

async function main(opts: { ceiling: boolean; overload: boolean; redis?: "single" | "cluster" | "cluster-no-replicas" }): Promise<DurableSummary | undefined> {
  const topologyKind = opts.redis === undefined || opts.redis === "single" ? "single" : "cluster";
  const started = Date.now();
  const machine = machineInfo();
  // Taken before the services start: the code they run is what the tree holds now.
  const code = codeInfo(ROOT);
  log(`code: commit ${code.commit}${code.dirty.length ? `, with uncommitted changes in ${code.dirty.join(", ")}` : ""}`);
  const loadAtStart = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  log(`load average before the start: ${loadAtStart}`);
  log(`machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.redis}, ${machine.postgres}`);
  log(`logs of every process in ${logDir}`);

  // 1. Infrastructure.
  const withReplicas = opts.redis !== "cluster-no-replicas";
  log(`phase 1: starting Redis (${topologyKind === "cluster" ? `a Redis Cluster of 3 masters${withReplicas ? " and 3 replicas" : ", no replicas"}` : "one server"}) and PostgreSQL`);
  const redis: ServerHandle = await startRedis({ infra: "local" });
  cleanups.push(() => redis.close());
  // On a cluster the services get REDIS_CLUSTER_NODES (and PERSIST_PARTITIONS' cluster default, 8);
  // the single server above stays for the ceiling servers only.
  const cluster = topologyKind === "cluster" ? await startRedisCluster({ replicas: withReplicas }) : undefined;
  if (cluster) cleanups.push(() => cluster.close());
  const redisEnv: Record<string, string> = cluster ? cluster.env : { REDIS_URL: redis.url };
  const redisUrls = cluster ? (await cluster.masterPorts()).map((port) => `redis://127.0.0.1:${port}`) : [redis.url];
  const partitions = defaultPersistPartitions(topologyKind);
  const persistStreams = Array.from({ length: partitions }, (_, k) => DEFAULT_KEYSPACE.persistPartition(k).stream);
  // durable: fsync and synchronous_commit on, as in production: an ack means committed to disk.
  const pg: ServerHandle = await startPostgres({ infra: "local", durable: fsync });
  cleanups.push(() => pg.close());
  const db: TestDatabase = await createDatabase(pg.url, { prefix: "parley_bench", migrate: true });
  cleanups.push(() => db.drop());
  if (seedMessages > 0) {
    log(`  seeding ${seedMessages} history messages…`);
    const ms = await seedHistory(db.url, seedMessages);
    log(`  seeded in ${(ms / 1000).toFixed(1)} s (ANALYZE done)`);
  }
  log(`  redis ${cluster ? `cluster, masters ${redisUrls.join(" ")}, ${partitions} persist partitions` : redis.url}, postgres ${pg.url.replace(/\/\/[^@]*@/, "//")} database ${db.name} (migrated)`);

  // 2. The system under test.
  log("phase 2: starting two gateways and one persister");
  const jwtSecret = randomBytes(24).toString("hex");
  // Every load-generator socket comes from 127.0.0.1: no per-address cap.
  const common = { ...redisEnv, DATABASE_URL: db.url, LOG_LEVEL: "warn", NODE_ENV: "production", JWT_SECRET: jwtSecret, SOCKETS_PER_IP_MAX: "0" };
  const gatewayPorts = [await freePort(), await freePort()];
  const persisterPort = await freePort();
  const profile = profileArgs(join(logDir, "profiles"));
  if (profile.length) log(`  CPU profiles of the gateways, the persister and the ceiling servers go to ${join(logDir, "profiles")}`);
  const gatewayScript = join(ROOT, "services/gateway/dist/server.js");
  const persisterScript = join(ROOT, "services/persister/dist/server.js");
  const gateways = gatewayPorts.map((port, i) => {
    const name = `gateway-${"ab"[i]}`;
    const child = watch(BenchChild.spawn(name, gatewayScript, { ...common, PORT: String(port), HOST: "127.0.0.1", POD_NAME: `bench-${name}` }, join(logDir, `${name}.log`), profile));
    cpu.name(child.pid, name);
    cleanups.push(() => child.stop());
    return child;
  });
  const persister = watch(BenchChild.spawn("persister", persisterScript, { ...common, METRICS_PORT: String(persisterPort), POD_NAME: "bench-persister" }, join(logDir, "persister.log"), profile));
  cpu.name(persister.pid, "persister");
  cleanups.push(() => persister.stop());
  const gatewayUrls = gatewayPorts.map((port) => `http://127.0.0.1:${port}`);
  await Promise.all([...gateways.map((g, i) => waitReady(`${gatewayUrls[i]}/readyz`, g)), waitReady(`http://127.0.0.1:${persisterPort}/readyz`, persister)]);
  log(`  gateways ${gatewayUrls.join(", ")}, persister metrics :${persisterPort}`);

  // 3. Users and conversations.
  log(`phase 3: ${CONFIG.users} users, ${CONFIG.conversations} conversations of ${CONFIG.membersPerConversation}`);
  const tokens = await Promise.all(
    Array.from({ length: CONFIG.users }, (_, u) => signToken({ sub: `bench-user-${u}`, name: `Bench ${u}`, secret: jwtSecret, expiresInSeconds: 3 * 3600 })),
  );
  const conversationIds: string[] = new Array<string>(CONFIG.conversations);
  let nextConversation = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (nextConversation < CONFIG.conversations) {
        const c = nextConversation++;
        const members = Array.from({ length: CONFIG.membersPerConversation }, (_, slot) => slot * CONFIG.conversations + c);
        const response = await fetch(`${gatewayUrls[c % 2]}/v1/conversations`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${tokens[members[0]!]}` },
          body: JSON.stringify({ kind: "group", title: `bench ${c}`, memberIds: members.slice(1).map((u) => `bench-user-${u}`) }),
        });
        const body = (await response.json()) as { conversation?: { id: string } };
        if (response.status !== 201 || !body.conversation) throw new Error(`creating conversation ${c}: HTTP ${response.status} ${JSON.stringify(body)}`);
        conversationIds[c] = body.conversation.id;
      }
    }),
  );
  const durableUsers = layout(conversationIds, tokens);
  const loadgen = LoadGenerator.start("durable");
  cleanups.push(() => loadgen.close());
  await loadgen.connect(gatewayUrls, durableUsers);

  // What the system costs with every socket connected and no messages (timers, polling,
  // heartbeats): the floor under every number below.
  const idleDurable = await idleBaseline("durable");

  const runs: RunRecord[] = [];
  let allVerified = true;
  const metricsUrls = { "gateway-a": `${gatewayUrls[0]}/metrics`, "gateway-b": `${gatewayUrls[1]}/metrics`, persister: `http://127.0.0.1:${persisterPort}/metrics` };
  const durable: Target = {
    kind: "durable",
    redisUrls,
    persistStreams,
    databaseUrl: db.url,
    loadgen,
    metricsUrls,
    // The previous run is over when the persister has stopped committing (a failed step
    // can leave a queue behind that must not load the next step).
    settle: async () => {
      if (!(await settleOn(async () => counterDelta(new Map(), await scrape(metricsUrls.persister), "parley_persist_messages_total")))) log("  still busy after 30 s; going on");
    },
    verify: async (result) => {
      const v = await verifyDatabase(db.url, result.ackedMessages ?? []);
      if (!v.ok || result.mismatchedDeliveries > 0) allVerified = false;
      if (result.mismatchedDeliveries > 0) v.problems.push(`${result.mismatchedDeliveries} message:new events disagreed with their ack (id/seq)`);
      return { ...v, ok: v.ok && result.mismatchedDeliveries === 0 };
    },
  };

  // 4. Fixed rates, then the durable maximum.
  log("phase 4: durable path at fixed rates");
  for (const rate of CONFIG.fixedRates) runs.push(await measure(durable, rate, "fixed"));
  log("phase 5: searching the maximum sustainable durable rate");
  const durableSearch = await search(durable, CONFIG.searchStart, runs.filter((r) => r.target === "durable" && r.rate === CONFIG.searchStart), runs);
  log(`  durable max ${durableSearch.max} msgs/s (first failing step ${durableSearch.firstFail ?? "none"})`);
  const durableElapsed = Date.now();

  if (opts.overload) {
    const steps: OverloadStep[] = [];
    log(`phase 5b: overload, ${OVERLOAD_FACTORS.map((f) => `${f}×`).join(" and ")} the maximum (${durableSearch.max} msgs/s), open loop`);
    for (const factor of OVERLOAD_FACTORS) {
      const { refusedSends = [], ...record } = await measure(durable, Math.round(durableSearch.max * factor), "overload");
      runs.push(record);
      const stored = await refusedFoundStored(db.url, refusedSends);
      const step = overloadStep(factor, durableSearch.max, record, stored, refusedSends.length);
      steps.push(step);
      log(`  → ${factor}×: goodput ${Math.round(step.goodput)} acked ok/s (${(step.goodput / Math.max(1, durableSearch.max)).toFixed(2)} of the maximum), p99 of acked ${fmt(record.result.ackOk.p99)} ms, ${record.result.refusedBeforeQueuing} refused before queuing, ${step.withoutRetryAfter} answers without retryAfterMs, ${stored} of ${refusedSends.length} refused sends found stored → ${step.pass ? "PASS" : "FAIL"}`);
    }
    const at1000 = runs.find((r) => r.target === "durable" && r.phase === "fixed" && r.rate === 1000);
    const markdown = writeOverloadSection(ROOT, {
      date: new Date().toISOString(),
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
      machine,
      code,
      loadAverage: loadAtStart,
      durableMax: durableSearch.max,
      stepSeconds: CONFIG.overloadDurationMs / 1000,
      warmupSeconds: CONFIG.overloadWarmupMs / 1000,
      ackP99At1000: at1000?.result.ack.p99,
      steps,
      totalSeconds: Math.round((Date.now() - started) / 1000),
    });
    log(`overload: ${steps.map((st) => `${st.factor}× ${st.pass ? "PASS" : "FAIL"}`).join(", ")}; wrote ${markdown}`);
    if (steps.some((st) => st.refusedStored > 0) || refusedStoredAnywhere) allVerified = false;
  }
  if (!opts.ceiling) {
    const at1000 = runs.find((r) => r.target === "durable" && r.phase === "fixed" && r.rate === 1000);
    log(`durable max ${durableSearch.max} msgs/s; ack p99 at 1000 msgs/s: ${at1000 ? fmt(at1000.result.ack.p99) : "—"} ms (no ceiling: message-path not asked for)`);
    log(`verification: ${allVerified ? "every durable run OK" : "FAILED (see above)"}`);
    await loadgen.close();
    await Promise.all([...gateways.map((g) => g.stop()), persister.stop()]);
    if (!allVerified) process.exitCode = 1;
    return { durableMax: durableSearch.max, ackP99At1000: at1000?.result.ack.p99, verified: allVerified && !refusedStoredAnywhere, runs };
  }

  await loadgen.close();
  await Promise.all([...gateways.map((g) => g.stop()), persister.stop()]);

  // 5. The ceiling, same Redis, same users and layout, no persistence.
  log("phase 6: ceiling (bare Socket.IO + sharded Redis adapter, ack at once, no persistence)");
  const ceilingPorts = [await freePort(), await freePort()];
  const ceilings = ceilingPorts.map((port, i) => {
    const name = `ceiling-${"ab"[i]}`;
    const child = watch(BenchChild.spawn(name, join(HERE, "ceiling-server.js"), { REDIS_URL: redis.url, PORT: String(port) }, join(logDir, `${name}.log`), profileArgs(join(logDir, "profiles"))));
    cpu.name(child.pid, name);
    cleanups.push(() => child.stop());
    return child;
  });
  const ceilingUrls = ceilingPorts.map((port) => `http://127.0.0.1:${port}`);
  await Promise.all(ceilings.map((c, i) => waitReady(`${ceilingUrls[i]}/`, c)));
  const ceilingLoadgen = LoadGenerator.start("ceiling");
  cleanups.push(() => ceilingLoadgen.close());
  await ceilingLoadgen.connect(ceilingUrls, layout(conversationIds));
  const idleCeiling = await idleBaseline("ceiling");
  const ceiling: Target = { kind: "ceiling", redisUrls: [redis.url], loadgen: ceilingLoadgen, metricsUrls: {}, settle: async () => { await sleep(1000); } };
  // The ceiling is at least the durable maximum in any sane stack: start the search at the
  // durable path's first failing rate to save steps (it steps down if that fails too).
  const ceilingSearch = await search(ceiling, durableSearch.firstFail ?? CONFIG.searchStart, [], runs);
  log(`  ceiling max ${ceilingSearch.max} msgs/s (first failing step ${ceilingSearch.firstFail ?? "none"})`);
  await ceilingLoadgen.close();
  await Promise.all(ceilings.map((c) => c.stop()));

  // 6. Results.
  const results: BenchResults = {
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    machine,
    code,
    config: { ...CONFIG, quick, postgresFsync: fsync, seedMessages, messagesLayout },
    runs,
    idle: { durable: idleDurable, ceiling: idleCeiling },
    durableMax: durableSearch.max,
    durableFirstFail: durableSearch.firstFail,
    ceilingMax: ceilingSearch.max,
    ceilingFirstFail: ceilingSearch.firstFail,
    ratio: ceilingSearch.max > 0 ? durableSearch.max / ceilingSearch.max : Number.NaN,
    verified: allVerified && !refusedStoredAnywhere,
    durableSeconds: Math.round((durableElapsed - started) / 1000),
    totalSeconds: Math.round((Date.now() - started) / 1000),
  };
  const { json, markdown } = writeResults(ROOT, results, stamp);
  log(`durable max ${results.durableMax} msgs/s, ceiling max ${results.ceilingMax} msgs/s, ratio ${results.ratio.toFixed(2)} (target ≥ 0.6)`);
  const at1000 = runs.find((r) => r.target === "durable" && r.phase === "fixed" && r.rate === 1000);
  if (at1000) log(`ack p99 at 1000 msgs/s: ${fmt(at1000.result.ack.p99)} ms (target ≤ 20 ms)`);
  if (refusedStoredAnywhere) allVerified = false;
  log(`verification: ${allVerified ? "every durable run OK" : "FAILED (see above)"}`);
  log(`wrote ${markdown} and ${json} in ${results.totalSeconds} s`);
  if (!allVerified) process.exitCode = 1;
  return undefined;
}

try {
  if (wants("message-path") || wants("overload")) {
    await main({ ceiling: wants("message-path"), overload: wants("overload") });
    await cleanup();
  }
  if (only?.includes("topologies")) {
    // One Redis server, then a 3-master Redis Cluster, in this one run: the same users, load and
    // searches, a database of their own each (docs/benchmarks.md, "One Redis vs a Redis Cluster").
    const started = Date.now();
    const single = await main({ ceiling: false, overload: false, redis: "single" });
    await cleanup();
    const onCluster = await main({ ceiling: false, overload: false, redis: "cluster" });
    await cleanup();
    // The same 3 masters without their replicas: what replication costs on these shared cores.
    const noReplicas = await main({ ceiling: false, overload: false, redis: "cluster-no-replicas" });
    await cleanup();
    if (single && onCluster && noReplicas) {
      const markdown = writeTopologySection(ROOT, {
        date: new Date().toISOString(),
        command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
        machine: machineInfo(),
        code: codeInfo(ROOT),
        single,
        cluster: onCluster,
        noReplicas,
        totalSeconds: Math.round((Date.now() - started) / 1000),
      });
      log(`topologies: durable max ${single.durableMax} (one server) vs ${onCluster.durableMax} msgs/s (cluster; ${noReplicas.durableMax} without replicas), ${(onCluster.durableMax / Math.max(1, single.durableMax)).toFixed(2)}× (target ≥ 0.9); ack p99 at 1000 msgs/s ${fmt(single.ackP99At1000 ?? Number.NaN)} vs ${fmt(onCluster.ackP99At1000 ?? Number.NaN)} ms (target ≤ 1.2×); wrote ${markdown}`);
    }
  }
  if (wants("fanout")) {
    const fanout = await runFanout({ root: ROOT, logDir, stamp, quick, cpu, log, cleanups, watch, unexpectedExits });
    if (!fanout.verified) process.exitCode = 1;
  }
  if (wants("presence")) await runPresenceStorm(ROOT, cleanups);
} catch (error) {
  if (!interrupted) {
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
} finally {
  await cleanup();
}
if (!interrupted && wants("search")) {
  try {
    await runSearchBench({ messages: searchMessagesArg(process.argv), command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}` });
  } catch (error) {
    log(`search bench FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
}
