// The overload benchmark's checks and its section of docs/benchmarks.md: after the message-path
// search finds the maximum sustainable rate, the same cluster is offered 1.5× and 2× of it,
// open loop, and must keep its goodput with admission control refusing the rest before queuing.
import postgres from "postgres";
import { NEVER_MS, type RefusedSend } from "./loadgen-protocol.js";
import type { CodeInfo, MachineInfo, RunRecord } from "./report.js";
import { writeBenchmarksSection } from "./benchmarks-doc.js";

export const OVERLOAD_FACTORS = [1.5, 2] as const;
export const OVERLOAD_TARGETS = { goodputOfMax: 0.9, p99AckMs: 250 } as const;

/** How many of the sends refused before queuing are stored in Postgres (the contract: none). */
export async function refusedFoundStored(databaseUrl: string, refused: readonly RefusedSend[]): Promise<number> {
  if (refused.length === 0) return 0;
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    let found = 0;
    for (let from = 0; from < refused.length; from += 20_000) {
      const chunk = refused.slice(from, from + 20_000);
      // One probe per pair on the (sender_id, client_message_id) unique index.
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n
        from unnest(${chunk.map((r) => r.senderId)}::text[], ${chunk.map((r) => r.clientMessageId)}::uuid[]) as r(sender_id, client_message_id)
        join messages m on m.sender_id = r.sender_id and m.client_message_id = r.client_message_id`;
      found += row?.n ?? 0;
    }
    return found;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export interface OverloadStep {
  factor: number;
  record: RunRecord;
  /** Acked ok per second of the measured window. */
  goodput: number;
  /** ok:false answers without retryAfterMs (time-outs and other errors) plus sends never answered. */
  withoutRetryAfter: number;
  /** Sends refused before queuing (in the whole run) found stored afterwards. */
  refusedStored: number;
  refusedChecked: number;
  pass: boolean;
}

export interface OverloadResults {
  date: string;
  command: string;
  machine: MachineInfo;
  code?: CodeInfo;
  loadAverage: string;
  durableMax: number;
  /** Each step's measured window and warm-up (shorter with --quick). */
  stepSeconds: number;
  warmupSeconds: number;
  ackP99At1000: number | undefined;
  steps: OverloadStep[];
  totalSeconds: number;
}

/** One step's numbers against the targets. */
export function overloadStep(factor: number, max: number, record: RunRecord, refusedStored: number, refusedChecked: number): OverloadStep {
  const r = record.result;
  const goodput = r.acked / ((r.windowEnd - r.windowStart) / 1000);
  const errors = Object.values(r.errors).reduce((a, b) => a + b, 0);
  const withoutRetryAfter = errors - r.refusedBeforeQueuing + r.unanswered;
  const pass = goodput >= OVERLOAD_TARGETS.goodputOfMax * max && r.ackOk.p99 <= OVERLOAD_TARGETS.p99AckMs && withoutRetryAfter === 0 && refusedStored === 0;
  return { factor, record, goodput, withoutRetryAfter, refusedStored, refusedChecked, pass };
}

const ms = (v: number) => (v >= NEVER_MS ? "never" : Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : "—");
const n = (v: number) => Math.round(v).toLocaleString("en-US");

function render(r: OverloadResults): string {
  const lines: string[] = [];
  lines.push("## Overload: 1.5× and 2× the maximum sustainable rate");
  lines.push("");
  lines.push(`Written by \`${r.command}\` on ${r.date.slice(0, 16).replace("T", " ")} UTC; commit \`${r.code?.commit ?? "unknown"}\`${r.code?.dirty.length ? ` with uncommitted changes in ${r.code.dirty.join(", ")}` : ""}. Machine: ${r.machine.cores} cores, ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, ${r.machine.redis}, ${r.machine.postgres}; load average at the start ${r.loadAverage}; ${r.totalSeconds} s in all.`);
  lines.push("");
  lines.push(
    `Method: the message-path set-up (two gateways, one persister, 1,000 users in 200 five-member conversations, Postgres with fsync on) and its search for the maximum sustainable rate (p99 send→ack ≤ 250 ms, shortfall < 1 %), in the same run. Then the cluster is offered 1.5× and 2× that rate, open loop (sends leave on schedule whatever the answers), for ${r.stepSeconds} s each after a ${r.warmupSeconds} s warm-up, with the gateways' default admission control (\`ADMISSION_MAX_PERSIST_DELAY_MS\`, \`PERSIST_STREAM_MAX_BYTES\`). Goodput is the sends due in the window and acked ok, per second; the p99 is over those acked sends only. Every other answer must be a refusal before queuing (\`UNAVAILABLE\` with \`retryAfterMs\`): a time-out or an unanswered send counts against it. After each step, every send refused before queuing (warm-up included) is looked up in Postgres by (sender_id, client_message_id): none may be stored. Refused sends are not retried (open loop).`,
  );
  lines.push("");
  lines.push(`Maximum sustainable rate in this run: **${n(r.durableMax)} msgs/s**; send→ack p99 at 1,000 msgs/s: **${r.ackP99At1000 === undefined ? "—" : ms(r.ackP99At1000)} ms**.`);
  lines.push("");
  lines.push(`| offered | msgs/s | goodput (acked ok/s) | goodput / max (≥ ${OVERLOAD_TARGETS.goodputOfMax}) | ack p50 / p99 of acked (p99 ≤ ${OVERLOAD_TARGETS.p99AckMs} ms) | refused before queuing | other errors, time-outs, unanswered (0) | refused found stored (0) | result |`);
  lines.push("|---|---:|---:|---:|---|---:|---:|---|---|");
  for (const s of r.steps) {
    const res = s.record.result;
    lines.push(
      `| ${s.factor}× | ${n(s.record.rate)} | ${n(s.goodput)} | ${(s.goodput / Math.max(1, r.durableMax)).toFixed(2)} | ${ms(res.ackOk.p50)} / ${ms(res.ackOk.p99)} ms | ${n(res.refusedBeforeQueuing)} of ${n(res.scheduled)} | ${n(s.withoutRetryAfter)} | ${s.refusedStored} of ${n(s.refusedChecked)} | ${s.pass ? "PASS" : "FAIL"} |`,
    );
  }
  lines.push("");
  lines.push("CPU during each step (% of one core):");
  lines.push("");
  for (const s of r.steps) {
    const cpu = s.record.cpu;
    if (cpu) lines.push(`- ${s.factor}×: ${Object.entries(cpu.percentOfCore).filter(([, v]) => v > 0.5).map(([k, v]) => `${k} ${v}`).join(", ")}; machine busy ${cpu.machineBusyPercent} %`);
  }
  lines.push("");
  return lines.join("\n");
}


/** Replaces (or appends) the overload section of docs/benchmarks.md. */
export function writeOverloadSection(root: string, results: OverloadResults): string {
  return writeBenchmarksSection(root, "overload", render(results));
}
