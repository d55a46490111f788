// The fan-out benchmark's results: bench-results/fanout-<stamp>.json and its own section of
// docs/benchmarks.md, between `bench:fanout` markers (the other sections are left alone).
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { CpuUse } from "./cpu-sampler.js";
import type { FanoutResult } from "./fanout-protocol.js";
import type { Pressure } from "./pressure.js";
import { NEVER_MS } from "./loadgen-protocol.js";
import type { CodeInfo, MachineInfo } from "./report.js";
import type { Verification } from "./verify.js";
import { writeBenchmarksSection } from "./benchmarks-doc.js";

export interface FanoutStep {
  target: "durable" | "ceiling";
  rate: number;
  pass: boolean;
  result: Omit<FanoutResult, "ackedMessages">;
  cpu: CpuUse | undefined;
  /** A failed step, measured once more at once (the second attempt decides). */
  discarded?: boolean;
  verification?: Verification;
  /** Pressure stall information over the window (Linux PSI). */
  pressure?: Pressure;
  /** Persister commits over the window (durable only); max values are histogram bucket bounds. */
  persister?: { commits: number; commitMeanMs: number; commitMaxMs: number; lagMeanMs: number; lagMaxMs: number };
}

export interface FanoutResults {
  date: string;
  command: string;
  machine: MachineInfo;
  code: CodeInfo;
  loadAverageBefore: string;
  loadAverageAfter: string;
  config: Record<string, unknown>;
  steps: FanoutStep[];
  idle: { durable: CpuUse; ceiling: CpuUse };
  /** Highest sustained rate (msgs/s; deliveries/s = × members). */
  durableMax: number;
  durableFirstFail: number | undefined;
  ceilingMax: number;
  ceilingFirstFail: number | undefined;
  ratio: number;
  /** Postgres checks OK, and no duplicate, out-of-order or mismatched delivery in any step. */
  verified: boolean;
  totalSeconds: number;
}


const ms = (v: number) => (v >= NEVER_MS ? "never" : Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : "—");
const n = (v: number) => v.toLocaleString("en-US");

/** Processes of the system under test besides the socket servers (the bare stack has only Redis). */
const SYSTEM_SHARED = ["persister", "delivery", "redis", "postgres"];

const ROLES = ["loadgen", "gateway-a", "gateway-b", "persister", "delivery", "redis", "postgres", "ceiling-a", "ceiling-b", "orchestrator", "softirq", "others"];

/** CPU microseconds per delivery received, for the roles given (summed). */
function perDelivery(step: FanoutStep, roles: string[]): string {
  if (!step.cpu || step.result.deliveriesPerSecond === 0) return "";
  const percent = roles.reduce((sum, role) => sum + (step.cpu!.percentOfCore[role] ?? 0), 0);
  if (percent === 0) return "";
  return ((percent / 100) * 1e6 / step.result.deliveriesPerSecond).toFixed(1);
}

export function renderFanoutMarkdown(r: FanoutResults): string {
  const m = r.machine;
  const c = r.config as { members: number; warmupMs: number; durationMs: number; graceMs: number; maxP99DeliveryMs: number; maxMissing: number; ladder: number[]; workers: string[]; loadGenerators?: number };
  const members = c.members;
  // Runs from before the split had one generator.
  const generators = typeof c.loadGenerators === "number" ? c.loadGenerators : 1;
  const lines: string[] = [];
  lines.push(`## Fan-out to a ${n(members)}-member conversation (\`npm run bench -- --only=fanout\`)`);
  lines.push("");
  lines.push(`Measured ${r.date.slice(0, 16).replace("T", " ")} UTC with \`${r.command}\` (${(r.totalSeconds / 60).toFixed(1)} min); load average before ${r.loadAverageBefore}, after ${r.loadAverageAfter}. Raw numbers: \`bench-results/fanout-*.json\` (not committed).`);
  lines.push("");
  lines.push(`**Code**: commit \`${r.code.commit}\`${r.code.dirty.length ? ` **plus uncommitted changes** in ${r.code.dirty.map((f) => `\`${f}\``).join(", ")}` : " (services/ and libs/ clean)"}.`);
  lines.push("");
  lines.push(`**Machine**: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}, ${m.redis}, ${m.postgres}. Everything on the one machine, load generators included, over loopback.`);
  lines.push("");
  lines.push("| | result | target |");
  lines.push("|---|---|---|");
  lines.push(`| Parley, durable path: highest sustained rate | **${n(r.durableMax * members)} deliveries/s** (${r.durableMax} msgs/s; first failing step ${r.durableFirstFail ?? "none"} msgs/s) | |`);
  lines.push(`| bare Socket.IO + sharded Redis adapter | **${n(r.ceilingMax * members)} deliveries/s** (${r.ceilingMax} msgs/s; first failing step ${r.ceilingFirstFail ?? "none"} msgs/s) | |`);
  lines.push(`| Parley / bare | **${Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : "—"}** | ≥ 0.7 ${r.ratio >= 0.7 ? "✅" : "❌"} |`);
  lines.push(`| every delivery once, in seq order, none missing at sustained rates; Postgres check after every durable step | **${r.verified ? "OK" : "FAILED"}** | no duplicate, no reordering, no id/seq mismatch ${r.verified ? "✅" : "❌"} |`);
  lines.push("");
  lines.push("### Set-up");
  lines.push("");
  lines.push(`- **System under test**: two gateways, the persister${c.workers.includes("delivery") ? " and the delivery service" : ""} (\`services/*/dist/server.js\`), \`NODE_ENV=production LOG_LEVEL=warn\`, default settings otherwise. Redis with \`--maxmemory-policy noeviction\`; PostgreSQL with **fsync and synchronous_commit on**, fresh database.`);
  lines.push(`- **Load**: one group conversation of ${n(members)} members, made through the HTTP API (\`POST /v1/conversations\`, then \`POST /v1/conversations/:id/members\` in pages of 500). Each member has one websocket (socket.io-client, \`transports: ["websocket"]\`), member u on gateway u mod 2 (500 + 500), ${generators === 1 ? "all in one forked load-generator process" : `split over ${generators} forked load-generator processes (member u in generator ⌊u/2⌋ mod ${generators}, so each holds sockets on both gateways; one generator's single thread was close to its limit near the knee)`}. Message i is due at start + i/rate and sent by member 7i mod ${members} (so senders alternate between the gateways and no member comes near the per-user rate limit)${generators === 1 ? "" : ", from whichever generator holds that member's socket; every generator derives the same schedule and the same clientMessageIds, times and checks every message on its own sockets, and the bench adds their tallies up (the checks below are over all 1,000 sockets)"}.`);
  lines.push(`- **A delivery** is one \`message:new\` on one socket. Every message goes to all ${n(members)} sockets, the sender's own included (the contract delivers it to every device of every member), so deliveries/s = msgs/s × ${n(members)}. **Latency**: the message's *scheduled* send time → \`message:new\` on each socket, one sample per (message, socket); a delivery that never came counts as "never". Percentiles are exact (nearest rank).`);
  lines.push(`- **Sustained**: over a ${c.durationMs / 1000} s window after ${c.warmupMs / 1000} s of warm-up, p99 delivery latency ≤ ${c.maxP99DeliveryMs} ms, fewer than ${c.maxMissing * 100} % of the window's deliveries missing ${c.graceMs / 1000} s after the last send, **and** no socket got a message twice, no socket saw a seq at or below one it already had, no \`message:new\` disagreed with the sender's ack (id, seq). Parley's order is per conversation (seq from Postgres); the bare servers number only what each broadcasts, so their order is checked per originating server.`);
  lines.push(`- **Ladder**: ${c.ladder.join(", ")} msgs/s, upward until a step is not sustained, then one step between the last sustained and the first failing rate. The bare stack starts one rung below Parley's maximum. A failing step is measured once more at once and the second attempt decides (the machine is shared; both attempts are listed). After each durable step the bench waits for the persister to go quiet and checks Postgres (every acked id stored once with its seq, seqs gap-free).`);
  lines.push("- **Bare stack**: two processes of `tools/bench/src/ceiling-server.ts` (Socket.IO, `createShardedAdapter(pub, sub, { subscriptionMode: \"dynamic\" })`, same Redis), which on `message:send` ack at once and `io.to(room).emit(\"message:new\")`: no auth, validation, rate limit, queue or database.");
  lines.push("");
  lines.push("### Results");
  lines.push("");
  lines.push("| target | msgs/s | deliveries/s offered | achieved | delivery p50 / p95 / p99 / max (ms) | missing | duplicates | out of order | send→ack p99 (ms) | sustained |");
  lines.push("|---|---:|---:|---:|---|---:|---:|---:|---:|---|");
  for (const s of r.steps) {
    const res = s.result;
    const errors = Object.entries(res.errors).map(([k, v]) => `${k} ${v}`).join(", ");
    lines.push(
      `| ${s.target} | ${s.rate} | ${n(s.rate * members)} | ${n(res.deliveriesPerSecond)} | ${ms(res.delivery.p50)} / ${ms(res.delivery.p95)} / ${ms(res.delivery.p99)} / ${ms(res.delivery.max)} | ${(res.missingRatio * 100).toFixed(3)} % | ${res.duplicates} | ${res.outOfOrder} | ${ms(res.ack.p99)}${errors ? ` (${errors})` : ""} | ${s.pass ? "yes" : "no"}${s.discarded ? " (measured again below)" : ""} |`,
    );
  }
  lines.push("");
  lines.push("### Where the CPU goes");
  lines.push("");
  lines.push("Per process over each measured window, in % of one core (2 cores = 200 %), from `/proc/PID/stat`; `softirq` is kernel interrupt time (loopback networking), `others` is busy time of processes outside the bench; *stalled on cpu / io* is Linux pressure stall information (`/proc/pressure`, the *some* line): the share of the window in which at least one task waited for a CPU, or for the disk (a neighbour that only fills the disk shows there, not in `others`). The µs columns divide CPU time by deliveries received: *socket servers* are the two gateways (or the two bare servers); *whole system under test* adds the persister, the delivery service, Redis and Postgres; *loadgen* is the 1,000 client sockets and the sender (every generator process together); *softirq* is the loopback network, both directions.");
  lines.push("");
  const roles = ROLES.filter((role) => r.steps.some((s) => (s.cpu?.percentOfCore[role] ?? 0) > 0.5));
  lines.push(`| target | msgs/s | ${roles.join(" | ")} | machine busy | stalled on cpu / io | µs/delivery: socket servers | whole system under test | loadgen | softirq |`);
  lines.push(`|---|---:|${roles.map(() => "---:").join("|")}|---:|---:|---:|---:|---:|---:|`);
  for (const s of r.steps) {
    const servers = s.target === "durable" ? ["gateway-a", "gateway-b"] : ["ceiling-a", "ceiling-b"];
    lines.push(
      `| ${s.target} | ${s.rate} | ${roles.map((role) => (s.cpu?.percentOfCore[role] ?? 0).toFixed(0)).join(" | ")} | ${s.cpu ? `${s.cpu.machineBusyPercent.toFixed(0)} %` : ""} | ${s.pressure ? `${s.pressure.cpuSomePercent ?? "?"} / ${s.pressure.ioSomePercent ?? "?"} %` : ""} | ${perDelivery(s, servers)} | ${perDelivery(s, [...servers, ...SYSTEM_SHARED])} | ${perDelivery(s, ["loadgen"])} | ${perDelivery(s, ["softirq"])} |`,
    );
  }
  for (const [kind, use] of Object.entries(r.idle)) {
    lines.push(`| ${kind} | idle | ${roles.map((role) => (use.percentOfCore[role] ?? 0).toFixed(0)).join(" | ")} | ${use.machineBusyPercent.toFixed(0)} % | | | | | |`);
  }
  lines.push("");
  lines.push("Persister over the same windows (`parley_persist_commit_duration_seconds`, `parley_persist_lag_seconds`; slowest = upper bound of the highest bucket used): a late delivery with a slow commit behind it waited on Postgres (the disk), one without waited on CPU.");
  lines.push("");
  lines.push("| msgs/s | commits | commit mean (ms) | slowest commit ≤ (ms) | enqueue→commit mean (ms) | slowest enqueue→commit ≤ (ms) |");
  lines.push("|---:|---:|---:|---:|---:|---:|");
  for (const s of r.steps) {
    const p = s.persister;
    if (p) lines.push(`| ${s.rate} | ${p.commits} | ${p.commitMeanMs.toFixed(1)} | ${p.commitMaxMs} | ${p.lagMeanMs.toFixed(1)} | ${p.lagMaxMs} |`);
  }
  lines.push("");
  const failing = r.steps.filter((s) => !s.pass);
  if (failing.length) {
    lines.push("Worst delivery latency per second of each window that was not sustained (ms, by scheduled time; a queue shows as a ramp, stalls as spikes):");
    lines.push("");
    for (const s of failing) lines.push(`- ${s.target} ${s.rate} msgs/s: ${s.result.deliveryMaxBySecond.map((v) => (v >= NEVER_MS ? "never" : String(v))).join(" ")}`);
    lines.push("");
  }
  return lines.join("\n");
}

/** Writes bench-results/fanout-<stamp>.json and replaces (or appends) the fan-out section of docs/benchmarks.md. */
export function writeFanoutResults(root: string, results: FanoutResults, stamp: string): { json: string; markdown: string } {
  const dir = join(root, "bench-results");
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `fanout-${stamp}.json`);
  writeFileSync(json, JSON.stringify(results, null, 2) + "\n");
  const markdown = writeBenchmarksSection(root, "fanout", renderFanoutMarkdown(results));
  return { json: relative(root, json), markdown: relative(root, markdown) };
}
