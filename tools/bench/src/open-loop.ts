import { performance } from "node:perf_hooks";

export type LoadPhase = "warmup" | "measure" | "drain";

export interface OpenLoopSchedule {
  /** performance.now() time of message 0. */
  start: number;
  /** ms between two messages (1000 / rate). */
  interval: number;
  /** Messages in warm-up and window together. */
  total: number;
  windowStart: number;
  windowEnd: number;
  /** After the window, how long to wait for what is still owed. */
  graceMs: number;
  sendOne(i: number, due: number, now: number): void;
  /** Entering `measure` (at the first due time inside the window) or `drain` (at windowEnd). */
  onPhase(phase: Exclude<LoadPhase, "warmup">, at: number): void;
  /** True while some window message is still unanswered or undelivered. */
  owed(): boolean;
  finish(): void;
}

/**
 * The open loop shared by the load generators: message i is due at start + i·interval and
 * goes out then, whatever the answers (latencies are measured from the due time, so a stalled
 * server counts against it). A 1 ms timer, not a busy loop: the generator shares two cores
 * with the system under test. After the window, it waits until nothing is owed, at most
 * graceMs; what is still missing then counts as missing.
 */
export function runOpenLoop(s: OpenLoopSchedule): void {
  let i = 0;
  let measuring = false;
  const awaitStragglers = () => {
    const deadline = performance.now() + s.graceMs;
    const check = () => {
      if (!s.owed() || performance.now() >= deadline) s.finish();
      else setTimeout(check, 50);
    };
    check();
  };
  const tick = () => {
    const now = performance.now();
    while (i < s.total) {
      const due = s.start + i * s.interval;
      if (due > now) break;
      if (!measuring && due >= s.windowStart) {
        measuring = true;
        s.onPhase("measure", due);
      }
      s.sendOne(i, due, now);
      i++;
    }
    if (i < s.total) {
      setTimeout(tick, Math.max(0, Math.min(1, s.start + i * s.interval - performance.now())));
      return;
    }
    // The window ends at windowEnd even if the last message was due a little earlier.
    setTimeout(() => {
      s.onPhase("drain", s.windowEnd);
      awaitStragglers();
    }, Math.max(0, s.windowEnd - performance.now()));
  };
  setTimeout(tick, Math.max(0, s.start - performance.now()));
}
