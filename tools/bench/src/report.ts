import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { join, relative } from "node:path";
import { binaryVersion, findServerBinaries } from "@parley/testkit";
import type { CpuUse } from "./cpu-sampler.js";
import { NEVER_MS, type RunResult } from "./loadgen-protocol.js";
import type { HistogramDelta } from "./prom-scrape.js";
import type { TableUse } from "./pg-stats.js";
import type { RedisUse } from "./redis-stats.js";
import type { Verification } from "./verify.js";
import { writeBenchmarksSection } from "./benchmarks-doc.js";

export interface RunRecord {
  target: "durable" | "ceiling";
  phase: "fixed" | "search" | "overload";
  rate: number;
  pass: boolean;
  result: Omit<RunResult, "ackedMessages">;
  cpu: CpuUse | undefined;
  metrics: Record<string, Record<string, HistogramDelta | number | undefined>>;
  redis?: RedisUse | undefined;
  /** A failed search step measured while other processes were busy, repeated at once. */
  discarded?: boolean;
  tables?: Record<string, TableUse>;
  verification?: Verification;
}

export interface CodeInfo {
  commit: string;
  /** Uncommitted changes under services/ and libs/ when the bench ran: the code measured is not `commit`. */
  dirty: string[];
}

export function codeInfo(root: string): CodeInfo {
  const git = (...args: string[]) => spawnSync("git", args, { cwd: root, encoding: "utf8" }).stdout;
  return {
    commit: git("rev-parse", "--short", "HEAD").trim() || "unknown",
    // Not trimmed: a porcelain line starts with its two status columns, the first often a space.
    dirty: git("status", "--porcelain", "--", "services", "libs").split("\n").filter((l) => l.trim() !== "").map((l) => l.slice(3)),
  };
}

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  redis: string;
  postgres: string;
  kernel: string;
}

export interface BenchResults {
  date: string;
  command: string;
  machine: MachineInfo;
  code?: CodeInfo;
  config: Record<string, unknown>;
  runs: RunRecord[];
  idle?: { durable: CpuUse; ceiling: CpuUse };
  durableMax: number;
  durableFirstFail: number | undefined;
  ceilingMax: number;
  ceilingFirstFail: number | undefined;
  ratio: number;
  verified: boolean;
  durableSeconds: number;
  totalSeconds: number;
}

let cachedMachine: MachineInfo | undefined;

export function machineInfo(): MachineInfo {
  if (cachedMachine) return cachedMachine;
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const binaries = findServerBinaries();
  cachedMachine = {
    cores: availableParallelism(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: binaries.redisServer ? binaryVersion(binaries.redisServer).replace(/ sha=.*$/, "") : "unknown",
    postgres: binaries.postgres ? binaryVersion(binaries.postgres) : "unknown",
    kernel: spawnSync("uname", ["-sr"], { encoding: "utf8" }).stdout.trim(),
  };
  return cachedMachine;
}

const ms = (v: number) => (v >= NEVER_MS ? "never" : Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : "—");
const pct = (v: number) => `${(v * 100).toFixed(2)} %`;

const ROLES = ["loadgen", "gateway-a", "gateway-b", "persister", "redis", "postgres", "ceiling-a", "ceiling-b", "orchestrator", "softirq", "others"];

function cpuCell(run: RunRecord, role: string): string {
  const v = run.cpu?.percentOfCore[role];
  return v === undefined ? "" : v.toFixed(0);
}

function persisterCell(run: RunRecord): string {
  const p = run.metrics.persister;
  const batch = p?.batchSize as HistogramDelta | undefined;
  const commit = p?.commitSeconds as HistogramDelta | undefined;
  const lag = p?.lagSeconds as HistogramDelta | undefined;
  if (!batch || batch.count === 0) return "";
  const perSecond = run.cpu ? (batch.count / run.cpu.seconds).toFixed(0) : "?";
  return `${perSecond} commits/s, batch mean ${batch.mean.toFixed(1)} (p99 ≤ ${batch.p99}), commit mean ${commit ? (commit.mean * 1000).toFixed(1) : "—"} ms, enqueue→commit mean ${lag ? (lag.mean * 1000).toFixed(1) : "—"} ms (p99 ≤ ${lag ? lag.p99 * 1000 : "—"} ms)`;
}

function gatewayAckCell(run: RunRecord): string {
  const parts: string[] = [];
  for (const name of ["gateway-a", "gateway-b"]) {
    const h = run.metrics[name]?.sendAckSeconds as HistogramDelta | undefined;
    if (h && h.count > 0) parts.push(`${name}: mean ${(h.mean * 1000).toFixed(1)} ms, p99 ≤ ${h.p99 * 1000} ms`);
  }
  return parts.join("; ");
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const c = r.config as Record<string, number | boolean | number[]>;
  const lines: string[] = [];
  const durableFixed = r.runs.filter((run) => run.target === "durable" && run.phase === "fixed");
  const at1000 = durableFixed.find((run) => run.rate === 1000);
  lines.push("## The message path (`npm run bench -- --only=message-path`)");
  lines.push("");
  lines.push(`Measured ${r.date.slice(0, 16).replace("T", " ")} UTC with \`${r.command}\` (${Math.round(r.totalSeconds / 60 * 10) / 10} min). Raw numbers: \`bench-results/\` (not committed).`);
  lines.push("");
  if (r.code) {
    lines.push(`**Code**: commit \`${r.code.commit}\`${r.code.dirty.length ? ` **plus uncommitted changes** in ${r.code.dirty.map((f) => `\`${f}\``).join(", ")}` : " (services/ and libs/ clean)"}.`);
    lines.push("");
  }
  lines.push("**Machine**: " + `${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}, ${m.redis}, ${m.postgres}. ` +
    "Everything on the one machine, load generator included, over loopback.");
  lines.push("");
  lines.push("| | result | target |");
  lines.push("|---|---|---|");
  lines.push(`| maximum sustainable durable rate | **${r.durableMax} msgs/s** (first failing step ${r.durableFirstFail ?? "none"}) | |`);
  lines.push(`| ceiling (bare Socket.IO + sharded Redis adapter) | **${r.ceilingMax} msgs/s** (first failing step ${r.ceilingFirstFail ?? "none"}) | |`);
  lines.push(`| durable / ceiling | **${Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : "—"}** | ≥ 0.6 ${r.ratio >= 0.6 ? "✅" : "❌"} |`);
  if (at1000) lines.push(`| send→ack p99 at 1,000 msgs/s | **${ms(at1000.result.ack.p99)} ms** | ≤ 20 ms ${at1000.result.ack.p99 <= 20 ? "✅" : "❌"} |`);
  lines.push(`| Postgres verification after every durable run | **${r.verified ? "OK" : "FAILED"}** | every acked id stored once, no duplicate (sender, clientMessageId), seqs 1..last_seq ${r.verified ? "✅" : "❌"} |`);
  lines.push("");
  lines.push("### Set-up");
  lines.push("");
  lines.push(`- **System under test**: two gateways (\`services/gateway/dist/server.js\`) and one persister, \`NODE_ENV=production LOG_LEVEL=warn\`, default settings otherwise ` +
    "(rate limit 20 msgs/s per user, burst 40; `SEND_TIMEOUT_MS` 1,500; persister: persist stream read 100 entries at a time, max batch 2,000). " +
    "Redis started with `--maxmemory-policy noeviction`, no persistence; PostgreSQL 15 " + (c.postgresFsync === false ? "with **fsync, synchronous_commit and full_page_writes off** (`--no-fsync`: not crash-safe, shows what the disk costs)" : "with **fsync and synchronous_commit on** (an ack means the commit reached the disk)") + ", fresh database, migrated" + (r.config.messagesLayout === "unpartitioned" ? " through 0012 only (`--messages=unpartitioned`: `messages` one table, as before 0013)" : "") + (Number(c.seedMessages) > 0 ? `, seeded with ${c.seedMessages} history messages in 1,000 other conversations and ANALYZEd (\`--seed-messages\`)` : ", empty at the start") + ".");
  lines.push(`- **Load**: ${c.users} users, ${c.conversations} group conversations of ${c.membersPerConversation}; user u is in conversation u mod ${c.conversations}; ` +
    "each conversation has members on both gateways (3 + 2). One websocket per user (`transports: [\"websocket\"]`), all in one load-generator process " +
    "(`child_process.fork`). Message i is due at start + i/rate and sent by user i mod " + `${c.users}` + ", so consecutive messages go to different conversations and both gateways; " +
    `the load is spread over many users (at most rate/${c.users} msgs/s each), so the default per-user rate limit stays on and never binds below ${20 * Number(c.users)} msgs/s.`);
  lines.push("- **Open loop**: sends leave on schedule whatever the answers; every latency is measured from the *scheduled* send time, so a stalled server or generator counts against the result.");
  lines.push(`- **send→ack**: due time → the \`message:send\` ack (\`ok: true\`, sent by the gateway only after the Postgres commit). **send→delivery**: due time → \`message:new\` on each of the other 4 members' sockets, one sample per recipient. Percentiles are exact (sorted samples, nearest rank) and over *every* message due in the window: a send not acked ok, or a delivery that never came, counts as "never", so losses cannot flatter the tail.`);
  lines.push(`- **Runs**: fixed rates ${(c.fixedRates as number[]).join(" and ")} msgs/s for ${Number(c.fixedDurationMs) / 1000} s after a ${Number(c.fixedWarmupMs) / 1000} s warm-up; search steps ${Number(c.searchDurationMs) / 1000} s after ${Number(c.searchWarmupMs) / 1000} s, ` +
    `×${c.searchFactor} up from ${c.searchStart} msgs/s until a step fails, then ${c.searchRefineSteps} bisection steps. ` +
    `A step is sustainable when p99 send→ack ≤ ${c.maxP99AckMs} ms and shortfall < ${Number(c.maxShortfall) * 100} % (shortfall: messages due in the window not acked ok within the run + ${Number(c.graceMs) / 1000} s). ` +
    "Between steps the bench waits until the persister has stopped committing. A step that fails while other processes on the machine used a third of a core or more is repeated once, and a fixed-rate run measured that way is not reused as a search step.");
  lines.push("- **Ceiling**: two processes of `tools/bench/src/ceiling-server.ts` (Socket.IO, `createShardedAdapter(pub, sub, { subscriptionMode: \"dynamic\" })` over ioredis, same Redis), which on `message:send` ack at once and `io.to(room).emit(\"message:new\")`; no auth, validation, rate limit, queue or database. Same users, layout, generator and criteria; its search starts at the durable path's first failing rate.");
  lines.push("");
  lines.push("### Results");
  lines.push("");
  lines.push("| target | run | rate (msgs/s) | ack p50 / p95 / p99 (ms) | delivery p50 / p95 / p99 (ms) | shortfall | errors | deliveries | sustainable |");
  lines.push("|---|---|---:|---|---|---:|---|---:|---|");
  for (const run of r.runs) {
    const res = run.result;
    const errors = Object.entries(res.errors).map(([k, v]) => `${k} ${v}`).join(", ") || (res.unanswered ? "" : "—");
    const unanswered = res.unanswered ? `${errors && errors !== "—" ? ", " : ""}unanswered ${res.unanswered}` : "";
    lines.push(
      `| ${run.target} | ${run.phase} | ${run.rate} | ${ms(res.ack.p50)} / ${ms(res.ack.p95)} / ${ms(res.ack.p99)} | ${ms(res.delivery.p50)} / ${ms(res.delivery.p95)} / ${ms(res.delivery.p99)} | ${pct(res.shortfall)} | ${errors}${unanswered} | ${res.deliveriesExpected ? ((res.deliveriesReceived / res.deliveriesExpected) * 100).toFixed(2) + " %" : "—"} | ${run.pass ? "yes" : "no"}${run.discarded ? " (machine shared: repeated)" : ""} |`,
    );
  }
  lines.push("");
  lines.push("### Where the CPU goes");
  lines.push("");
  lines.push("Per-process CPU over each measured window, in % of one core (2 cores = 200 %), from `/proc/PID/stat` (utime + stime; postgres is the postmaster and every backend). `softirq` is kernel interrupt time charged to no process (loopback networking, mostly); `others` is the machine's remaining busy time outside the bench's processes (/proc/stat minus the bench), i.e. other users of the machine: a run with a large `others` value was measured on a machine that was not idle, and its numbers are pessimistic.");
  lines.push("");
  const roles = ROLES.filter((role) => r.runs.some((run) => (run.cpu?.percentOfCore[role] ?? 0) > 0.5));
  lines.push(`| target | rate | ${roles.join(" | ")} | machine busy |`);
  lines.push(`|---|---:|${roles.map(() => "---:").join("|")}|---:|`);
  for (const run of r.runs) {
    lines.push(`| ${run.target} | ${run.rate} | ${roles.map((role) => cpuCell(run, role)).join(" | ")} | ${run.cpu ? run.cpu.machineBusyPercent.toFixed(0) + " %" : ""} |`);
  }
  if (r.idle) {
    for (const [kind, use] of Object.entries(r.idle)) {
      lines.push(`| ${kind} | idle | ${roles.map((role) => (use.percentOfCore[role] === undefined ? "" : use.percentOfCore[role]!.toFixed(0))).join(" | ")} | ${use.machineBusyPercent.toFixed(0)} % |`);
    }
  }
  lines.push("");
  lines.push("Service metrics over the same windows (persister `parley_persist_batch_size`, `parley_persist_commit_duration_seconds`, `parley_persist_lag_seconds`; gateway `parley_gateway_send_ack_seconds`; p99 values are bucket upper bounds):");
  lines.push("");
  lines.push("| rate | persister | gateway send→ack |");
  lines.push("|---:|---|---|");
  for (const run of r.runs.filter((x) => x.target === "durable")) lines.push(`| ${run.rate} | ${persisterCell(run)} | ${gatewayAckCell(run)} |`);
  lines.push("");
  lines.push("Redis commands over the same windows (`INFO commandstats`; per message = per message scheduled):");
  lines.push("");
  lines.push("| target | rate | commands/s | per message | persist entries (messages per entry) | Redis CPU in commands | most called (calls per message, µs per call) |");
  lines.push("|---|---:|---:|---:|---:|---:|---|");
  for (const run of r.runs) {
    if (!run.redis) continue;
    lines.push(`| ${run.target} | ${run.rate} | ${run.redis.callsPerSecond} | ${run.redis.callsPerMessage} | ${run.redis.persistEntries !== undefined ? `${run.redis.persistEntries} (${run.redis.messagesPerEntry})` : ""} | ${run.redis.commandCpuPercent} % | ${run.redis.top.map(([n, c, u]) => `${n} ${c} (${u})`).join(", ")} |`);
  }
  lines.push("");
  lines.push("Worst send→ack per second of each durable window (ms; a steady queue shows as a ramp, stalls as isolated spikes):");
  lines.push("");
  for (const run of r.runs.filter((x) => x.target === "durable" && x.result.ackMaxBySecond)) {
    lines.push(`- ${run.rate} msgs/s: ${run.result.ackMaxBySecond.map((v) => (v >= NEVER_MS ? "never" : String(v))).join(" ")}`);
  }
  lines.push("");
  lines.push("Postgres table access over the same windows (`pg_stat_user_tables`):");
  lines.push("");
  lines.push("| rate | messages: seq scans | rows read by seq scans (per message) | index scans | rows at end | conversations: seq scans |");
  lines.push("|---:|---:|---:|---:|---:|---:|");
  for (const run of r.runs) {
    const m = run.tables?.messages;
    if (!m || !run.cpu) continue;
    lines.push(`| ${run.rate} | ${m.seqScans} | ${m.rowsReadBySeqScans} (${Math.round(m.rowsReadBySeqScans / Math.max(1, run.rate * run.cpu.seconds))}) | ${m.indexScans} | ${m.liveRowsAtEnd} | ${run.tables?.conversations?.seqScans ?? ""} |`);
  }
  lines.push("");
  lines.push("### Verification");
  lines.push("");
  const last = [...r.runs].reverse().find((run) => run.verification);
  lines.push(
    r.verified
      ? `After every durable run: every acked message id present in Postgres exactly once with the acked conversation and seq, no (sender_id, client_message_id) stored twice, every conversation's seqs exactly 1..last_seq. Last check: ${last?.verification?.totalRows ?? 0} rows in ${last?.verification?.conversationsChecked ?? 0} conversations.`
      : `**FAILED**: ${r.runs.flatMap((run) => run.verification?.problems ?? []).join("; ")}`,
  );
  lines.push("");
  return lines.join("\n");
}


/** Writes bench-results/<stamp>.json and replaces (or appends) the issue-2 section of docs/benchmarks.md. */
export function writeResults(root: string, results: BenchResults, stamp: string): { json: string; markdown: string } {
  const dir = join(root, "bench-results");
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `bench-${stamp}.json`);
  writeFileSync(json, JSON.stringify(results, null, 2) + "\n");
  const markdown = writeBenchmarksSection(root, "issue-2", renderMarkdown(results));
  return { json: relative(root, json), markdown: relative(root, markdown) };
}
