import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { killOnExit } from "../kill-on-exit.js";
import type { HerdCommand, HerdReport } from "./herd-worker.js";

export interface HerdFigures {
  /** Sockets that were dropped by the fault. */
  dropped: number;
  /** ms from the fault until ready again, and until synced: p50 / p99 / max over the dropped sockets. */
  back: { p50: number; p99: number; max: number };
  synced: { p50: number; p99: number; max: number };
  syncFailures: number;
  /** Transient refusals (UNAVAILABLE, RATE_LIMITED) retried with backoff, handshakes and syncs, over the whole run. */
  connectRetries: number;
  syncRetries: number;
  stillDown: number;
}

const percentiles = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]! : 0);
  return { p50: at(50), p99: at(99), max: sorted.at(-1) ?? 0 };
};

/**
 * Many clients' sockets spread over `workers` forked processes (herd-worker.ts): connect them
 * all, `mark()` the moment of the fault, and `report()` how the dropped ones came back.
 */
export async function startHerd(options: { url: string; secret: string; users: { id: string; cursors: Record<string, number> }[]; workers: number }) {
  const script = fileURLToPath(new URL("./herd-worker.js", import.meta.url));
  const children: ChildProcess[] = [];
  for (let w = 0; w < options.workers; w++) {
    const child = fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    killOnExit(child);
    children.push(child);
  }
  const ask = async <T extends HerdReport["type"]>(child: ChildProcess, command: HerdCommand, answer: T) => {
    const reply = new Promise<Extract<HerdReport, { type: T }>>((resolve) => {
      const on = (m: HerdReport) => {
        if (m.type === answer) {
          child.off("message", on);
          resolve(m as Extract<HerdReport, { type: T }>);
        }
      };
      child.on("message", on);
    });
    child.send(command);
    return reply;
  };
  const shares = children.map((_, w) => options.users.filter((_, i) => i % options.workers === w));
  const connected = await Promise.all(children.map((c, w) => ask(c, { type: "connect", url: options.url, secret: options.secret, users: shares[w]! }, "connected")));
  return {
    ready: connected.reduce((n, c) => n + c.ready, 0),
    failed: connected.reduce((n, c) => n + c.failed, 0),
    reasons: connected.reduce<Record<string, number>>((all, c) => {
      for (const [why, n] of Object.entries(c.reasons)) all[why] = (all[why] ?? 0) + n;
      return all;
    }, {}),
    mark: () => children.forEach((c) => c.send({ type: "mark" } satisfies HerdCommand)),
    async report(): Promise<HerdFigures> {
      const reports = await Promise.all(children.map((c) => ask(c, { type: "report" }, "report")));
      const backMs = reports.flatMap((r) => r.backMs);
      const syncedMs = reports.flatMap((r) => r.syncedMs);
      return {
        dropped: reports.reduce((n, r) => n + r.stillDown, 0) + syncedMs.length,
        back: percentiles(backMs),
        synced: percentiles(syncedMs),
        syncFailures: reports.reduce((n, r) => n + r.syncFailures, 0),
        connectRetries: reports.reduce((n, r) => n + r.connectRetries, 0),
        syncRetries: reports.reduce((n, r) => n + r.syncRetries, 0),
        stillDown: reports.reduce((n, r) => n + r.stillDown, 0),
      };
    },
    async close(): Promise<void> {
      await Promise.all(
        children.map(async (c) => {
          if (c.exitCode !== null) return;
          c.send({ type: "close" } satisfies HerdCommand);
          await Promise.race([once(c, "exit"), new Promise((r) => setTimeout(r, 5_000))]);
          c.kill("SIGKILL");
        }),
      );
    },
  };
}
