import { LatencyRecorder } from "./latency-recorder.js";
import { NEVER_MS, type AckedMessage } from "./loadgen-protocol.js";
import { fanoutSchedule, type FanoutResult, type FanoutRun, type FanoutShare } from "./fanout-protocol.js";

/**
 * Adds the generators' shares of one run up into one result, with the checks of a single
 * generator: a window message's deliveries are counted over every generator's sockets (what
 * none of them got is missing, and counts as "never"), every `message:new` is compared with
 * the ack its sender's generator got (id and seq), and a message no generator saw acked
 * counts as an ack that never came. Duplicates and order are per socket, so each share's
 * counts add up.
 */
export function mergeFanoutShares(run: Pick<FanoutRun, "label" | "rate" | "warmupMs" | "durationMs">, members: number, shares: readonly FanoutShare[]): FanoutResult {
  const schedule = fanoutSchedule(run, members);
  const windowCount = schedule.count;
  const sockets = shares.reduce((n, s) => n + s.sockets, 0);
  const delivery = new LatencyRecorder();
  const ack = new LatencyRecorder();
  const errors: Record<string, number> = {};
  const seconds = Math.ceil(run.durationMs / 1000);
  const deliveryMaxBySecond = new Array<number>(seconds).fill(0);
  let received = 0;
  let acked = 0;
  let mismatched = 0;
  for (const share of shares) {
    delivery.recordAll(share.deliveryLatencies);
    ack.recordAll(share.ackLatencies);
    for (const [code, count] of Object.entries(share.errors)) errors[code] = (errors[code] ?? 0) + count;
    share.deliveryMaxBySecond.forEach((v, s) => (deliveryMaxBySecond[s] = Math.max(deliveryMaxBySecond[s] ?? 0, v)));
  }
  for (let k = 0; k < windowCount; k++) {
    let answer: string | null = null;
    for (const share of shares) answer ??= share.acks[k] ?? null;
    if (answer === null) ack.record(NEVER_MS);
    else acked++;
    let got = 0;
    for (const share of shares) {
      got += share.deliveries[k] ?? 0;
      if (answer === null) continue; // nothing to compare with, as with a single generator
      for (const [carried, count] of Object.entries(share.carried[k] ?? {})) if (carried !== answer) mismatched += count;
    }
    received += got;
    for (let m = got; m < sockets; m++) delivery.record(NEVER_MS);
    if (got < sockets) {
      const second = schedule.secondOf(schedule.first + k);
      if (second < seconds) deliveryMaxBySecond[second] = NEVER_MS;
    }
  }
  const expected = windowCount * sockets;
  const ackedMessages: AckedMessage[] = shares.flatMap((s) => s.ackedMessages ?? []);
  return {
    label: run.label,
    rate: run.rate,
    sockets,
    scheduled: windowCount,
    acked,
    errors,
    deliveriesExpected: expected,
    deliveriesReceived: received,
    missingRatio: expected === 0 ? 1 : (expected - received) / expected,
    deliveriesPerSecond: Math.round(received / (run.durationMs / 1000)),
    duplicates: shares.reduce((n, s) => n + s.duplicates, 0),
    outOfOrder: shares.reduce((n, s) => n + s.outOfOrder, 0),
    mismatched,
    delivery: delivery.summary(),
    ack: ack.summary(),
    deliveryMaxBySecond: deliveryMaxBySecond.map((v) => Math.round(v)),
    maxSendLagMs: Math.max(0, ...shares.map((s) => s.maxSendLagMs)),
    ...(shares.some((s) => s.ackedMessages) ? { ackedMessages } : {}),
  };
}
