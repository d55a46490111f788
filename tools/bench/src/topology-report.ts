// The topology comparison's section of docs/benchmarks.md (`npm run bench -- --only=topologies`):
// the durable message path on one Redis server and on a 3-master Redis Cluster, in one run.
import { writeBenchmarksSection } from "./benchmarks-doc.js";
import type { CodeInfo, MachineInfo, RunRecord } from "./report.js";

export interface TopologyRun {
  durableMax: number;
  ackP99At1000: number | undefined;
  verified: boolean;
  runs: RunRecord[];
}

export interface TopologyResults {
  date: string;
  command: string;
  machine: MachineInfo;
  code: CodeInfo;
  single: TopologyRun;
  cluster: TopologyRun;
  /** The same 3 masters without replicas: what replication costs on shared cores. */
  noReplicas: TopologyRun;
  totalSeconds: number;
}

const ms = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "—" : `${v.toFixed(1)} ms`);

/** Redis commands per message and Redis' own CPU at 1,000 msgs/s, from the fixed-rate run. */
function redisAt1000(run: TopologyRun): string {
  const r = run.runs.find((x) => x.target === "durable" && x.phase === "fixed" && x.rate === 1000)?.redis;
  return r ? `${r.callsPerMessage.toFixed(1)} commands per message, ${r.commandCpuPercent.toFixed(0)} % of a core in Redis commands (all masters)` : "—";
}

/** Every redis-server process's CPU (the cpu sampler's `redis` role) at 1,000 msgs/s. */
function redisCpuAt1000(run: TopologyRun): string {
  const cpu = run.runs.find((x) => x.target === "durable" && x.phase === "fixed" && x.rate === 1000)?.cpu;
  const redis = cpu?.percentOfCore.redis;
  return redis === undefined ? "—" : `${redis.toFixed(0)} % (machine ${cpu!.machineBusyPercent.toFixed(0)} % busy)`;
}

function render(r: TopologyResults): string {
  const maxRatio = r.cluster.durableMax / Math.max(1, r.single.durableMax);
  const p99Ratio = r.single.ackP99At1000 && r.cluster.ackP99At1000 ? r.cluster.ackP99At1000 / r.single.ackP99At1000 : Number.NaN;
  const verdict = (ok: boolean) => (ok ? "✓" : "✗");
  return [
    `Measured ${r.date.slice(0, 16).replace("T", " ")} UTC with \`${r.command}\` (${(r.totalSeconds / 60).toFixed(1)} min), commit ${r.code.commit}${r.code.dirty.length ? ` with uncommitted changes in ${r.code.dirty.join(", ")}` : ""}; ${r.machine.cores} cores (${r.machine.cpuModel}), ${r.machine.redis}, ${r.machine.postgres}. Every shard on the same cores as everything else.`,
    "",
    "| | one Redis server | Redis Cluster, 3 masters + 3 replicas, 8 persist partitions | cluster ÷ one server | target | the same 3 masters, no replicas |",
    "|---|---|---|---|---|---|",
    `| durable maximum (msgs/s) | ${r.single.durableMax} | ${r.cluster.durableMax} | ${maxRatio.toFixed(2)} | ≥ 0.9 ${verdict(maxRatio >= 0.9)} | ${r.noReplicas.durableMax} (${(r.noReplicas.durableMax / Math.max(1, r.single.durableMax)).toFixed(2)}×) |`,
    `| send→ack p99 at 1,000 msgs/s | ${ms(r.single.ackP99At1000)} | ${ms(r.cluster.ackP99At1000)} | ${Number.isFinite(p99Ratio) ? p99Ratio.toFixed(2) : "—"} | ≤ 1.2 ${verdict(p99Ratio <= 1.2)} | ${ms(r.noReplicas.ackP99At1000)} |`,
    `| Redis at 1,000 msgs/s | ${redisAt1000(r.single)} | ${redisAt1000(r.cluster)} | | | ${redisAt1000(r.noReplicas)} |`,
    `| Redis processes' CPU at 1,000 msgs/s (% of one core) | ${redisCpuAt1000(r.single)} | ${redisCpuAt1000(r.cluster)} | | | ${redisCpuAt1000(r.noReplicas)} |`,
    `| every acked message stored once, no seq gap | ${r.single.verified ? "yes" : "NO"} | ${r.cluster.verified ? "yes" : "NO"} | | | ${r.noReplicas.verified ? "yes" : "NO"} |`,
  ].join("\n");
}

/** Replaces (or appends) the topology section of docs/benchmarks.md. */
export function writeTopologySection(root: string, results: TopologyResults): string {
  return writeBenchmarksSection(root, "topologies", render(results));
}
