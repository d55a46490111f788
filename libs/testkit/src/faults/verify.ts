import postgres from "postgres";
import type { FaultCluster } from "./fault-cluster.js";
import type { Load } from "./load.js";

export interface VerifyOptions {
  /** When the fault began (Date.now()): recovery times are measured from it. */
  faultAt: number;
  /** The stated bound: service (an ack for a send made after the fault) and every client back and synced within it. */
  recoveryBoundMs: number;
  /** Sends still owed after the schedule stops are waited for this long (default 30 s). */
  settleMs?: number;
  /** Refusal codes a send may end with during this fault (e.g. UNAVAILABLE while Redis is full). Default none. */
  allowedFailures?: readonly string[];
}

export interface Verdict {
  scenario: string;
  /** Each broken promise, in words; empty when the scenario passed. */
  violations: string[];
  figures: {
    sends: number;
    acked: number;
    failed: number;
    /** ms from the fault to the first ack of a send made after it. */
    serviceBackMs?: number;
    /** ms from the fault until the last client was online again (0: none went offline). */
    clientsBackMs: number;
    /** ms from the load's stop (every send settled) until every client held every stored message (0: they already did). */
    syncedMs?: number;
    /** Worst send-to-ack time of the run, ms. */
    maxAckMs: number;
    p99AckMs: number;
  };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]! : 0);

/**
 * What every fault scenario asserts once it is over (issue 17):
 * - every acked message is stored once, with its acked seq;
 * - no conversation has a seq gap;
 * - every client, online at the end (it stayed, or reconnected and synced), holds every stored message;
 * - no process crashed, every pod is ready again, and service came back within the stated bound.
 * It stops the load, and prints the scenario's recovery figures on one line.
 */
export async function verifyScenario(scenario: string, cluster: FaultCluster, load: Load, options: VerifyOptions): Promise<Verdict> {
  const violations: string[] = [];
  const { owed } = await load.stop(options.settleMs);
  if (owed > 0) violations.push(`${owed} sends neither acked nor refused ${options.settleMs ?? 60_000} ms after the load stopped`);
  const allowed = new Set(options.allowedFailures ?? []);
  const failed = load.sends.filter((s) => s.failed !== undefined);
  for (const code of new Set(failed.map((s) => s.failed!))) {
    if (!allowed.has(code)) violations.push(`${failed.filter((s) => s.failed === code).length} sends refused with ${code}`);
  }

  // The database: each acked send once, at its seq; seqs 1..n with no gap.
  const sql = postgres(cluster.database.url, { max: 1, onnotice: () => {} });
  const maxSeq = new Map<string, number>();
  try {
    const rows = await sql<{ conversation_id: string; seq: string; sender_id: string; client_message_id: string }[]>`
      select conversation_id, seq, sender_id, client_message_id from messages
      where conversation_id = any(${load.conversationIds}::uuid[]) order by conversation_id, seq`;
    const byConversation = new Map<string, number[]>();
    const byClientId = new Map<string, { conversationId: string; seq: number; count: number }>();
    for (const r of rows) {
      const seq = Number(r.seq);
      byConversation.set(r.conversation_id, [...(byConversation.get(r.conversation_id) ?? []), seq]);
      const key = `${r.sender_id}/${r.client_message_id}`;
      const had = byClientId.get(key);
      byClientId.set(key, { conversationId: r.conversation_id, seq, count: (had?.count ?? 0) + 1 });
    }
    for (const id of load.conversationIds) {
      const seqs = byConversation.get(id) ?? [];
      maxSeq.set(id, seqs.length ? seqs[seqs.length - 1]! : 0);
      const gaps = seqs.filter((s, i) => s !== i + 1);
      if (gaps.length > 0) violations.push(`conversation ${id}: seqs not 1..${seqs.length} (first out of place: ${gaps[0]})`);
    }
    let lost = 0;
    let moved = 0;
    for (const s of load.sends) {
      if (s.seq === undefined) continue;
      const row = byClientId.get(`${s.senderId}/${s.clientMessageId}`);
      if (!row) lost++;
      else if (row.count !== 1 || row.seq !== s.seq || row.conversationId !== s.conversationId) moved++;
    }
    if (lost > 0) violations.push(`${lost} acked messages not stored`);
    if (moved > 0) violations.push(`${moved} acked messages stored twice or at another seq than acked`);
  } finally {
    await sql.end({ timeout: 5 });
  }

  // The clients: every one online again and holding every stored message, within the bound
  // counted from now (the load has stopped: nothing new arrives that a client could still be owed).
  const checkedFrom = Date.now();
  const deadline = checkedFrom + options.recoveryBoundMs;
  const missingOf = () =>
    load.clients.flatMap((c) =>
      load.conversationIds.flatMap((id) => {
        // What it was given (events) and what its view holds now (own sends are reconciled into the view).
        const seen = new Set(c.seen.get(id) ?? []);
        for (const m of c.client.conversation(id).messages) if (m.seq !== undefined) seen.add(m.seq);
        const n = maxSeq.get(id)!;
        const missing: number[] = [];
        for (let seq = 1; seq <= n; seq++) if (!seen.has(seq)) missing.push(seq);
        return missing.length > 0 || c.client.state !== "online"
          ? [{ user: c.userId, conversation: id, missing: missing.length, seqs: `${missing.slice(0, 5).join(",")} of ${n}`, state: c.client.state, lastSeq: c.client.conversation(id).lastSeq, errors: c.errors.slice(-3) }]
          : [];
      }),
    );
  let missing = missingOf();
  while (missing.length > 0 && Date.now() < deadline) {
    // A view holds a window of the newest messages; what is older than its first one is history
    // the app pages in (`loadOlder`). Held means: in the window, or reachable by paging.
    for (const m of missing) {
      const view = load.clients.find((c) => c.userId === m.user)!.client.conversation(m.conversation);
      if (view.hasOlder) await view.loadOlder().catch(() => 0);
    }
    await delay(50);
    missing = missingOf();
  }
  const syncedMs = missing.length === 0 ? Date.now() - checkedFrom : undefined;
  if (missing.length > 0) {
    violations.push(`${missing.length} client views not whole ${options.recoveryBoundMs} ms after the load stopped, e.g. ${JSON.stringify(missing.slice(0, 3))}`);
  }

  const crashes = cluster.crashes();
  if (crashes.length > 0) violations.push(`crashed: ${crashes.map((c) => `${c.pod} (code ${c.code}, signal ${c.signal}): ${c.output.split("\n").slice(-5).join(" | ")}`).join("; ")}`);
  const notReady = await cluster.notReady();
  if (notReady.length > 0) violations.push(`not ready at the end: ${notReady.join("; ")}`);

  const serviceBackMs = load.firstAckAfter(options.faultAt);
  if (serviceBackMs === undefined) violations.push("no send made after the fault was acked");
  else if (serviceBackMs > options.recoveryBoundMs) violations.push(`service back after ${serviceBackMs} ms, over the ${options.recoveryBoundMs} ms bound`);

  const backAt = load.clients.map((c) => {
    const last = c.states.filter((s) => s.at >= options.faultAt && s.state === "online").at(-1);
    return last ? last.at - options.faultAt : 0;
  });
  const ackMs = load.sends.filter((s) => s.ackedAt !== undefined).map((s) => s.ackedAt! - s.calledAt).sort((a, b) => a - b);
  const verdict: Verdict = {
    scenario,
    violations,
    figures: {
      sends: load.sends.length,
      acked: ackMs.length,
      failed: failed.length,
      ...(serviceBackMs !== undefined ? { serviceBackMs } : {}),
      clientsBackMs: Math.max(0, ...backAt),
      ...(syncedMs !== undefined ? { syncedMs } : {}),
      maxAckMs: ackMs.at(-1) ?? 0,
      p99AckMs: percentile(ackMs, 99),
    },
  };
  process.stdout.write(`fault-suite ${scenario}: ${JSON.stringify(verdict.figures)}${violations.length ? ` VIOLATIONS: ${violations.join("; ")}` : ""}\n`);
  return verdict;
}
