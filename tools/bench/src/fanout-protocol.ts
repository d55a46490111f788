// The IPC catalog between the fan-out orchestrator (fanout.ts) and its forked load generators
// (fanout-loadgen.ts), and the schedule both sides derive from a run's parameters. Structured-
// clone serialisable objects (the generators are forked with `serialization: "advanced"`, so a
// share's latencies travel as one Float64Array).
import type { AckedMessage, LatencySummary } from "./loadgen-protocol.js";

/** One member of the big conversation: one socket to one server. */
export interface FanoutMember {
  userId: string;
  /** Index into FanoutConnect.urls. */
  server: number;
  /** JWT for the durable cluster; absent for the ceiling (no auth there). */
  token?: string;
}

export interface FanoutConnect {
  type: "connect";
  urls: string[];
  conversationId: string;
  /** Every member (a generator needs each sender's server); it opens only its own share's sockets. */
  members: FanoutMember[];
  /** This generator's index among `generators` (generatorOf). */
  generator: number;
  generators: number;
  /** Handshakes in flight at once, so 1,000 of them don't stampede the servers. */
  concurrency: number;
}

export interface FanoutRun {
  type: "run";
  label: string;
  /** Message n's clientMessageId is derived from this (messageKey), so every generator knows every message. */
  runId: string;
  /** Message 0's due time, epoch ms (performance.timeOrigin + performance.now(): the same clock in every process). */
  startAt: number;
  /** Messages per second into the conversation, scheduled open-loop. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  /** After the last scheduled send, how long acks and deliveries may still arrive. */
  graceMs: number;
  /**
   * What `seq` promises. "conversation": one gap-free order per conversation (Parley: every
   * socket must see seqs strictly rising). "per-server": each server numbers what it
   * broadcasts on its own (the ceiling), so order is checked per originating server.
   */
  order: "conversation" | "per-server";
  /** Also return every acked message for the Postgres check. */
  collectAcked: boolean;
}

export type FanoutCommand = FanoutConnect | FanoutRun | { type: "close" };

/**
 * Which generator holds member `u`'s socket: members alternate between the servers (u mod
 * servers), and each server's members alternate between the generators, so every generator
 * holds sockets on every server and a slow generator cannot pass for a slow server.
 */
export const generatorOf = (u: number, servers: number, generators: number) => Math.floor(u / servers) % generators;

/** Consecutive messages come from members far apart, alternating between the two servers. */
const STRIDE = 7;

/**
 * A run's schedule, the same in every generator and in the orchestrator: message n is due
 * `n · interval` ms after the start and sent by member n·STRIDE mod members; the window is
 * the messages due in [warmupMs, warmupMs + durationMs), window index k = n - first.
 */
export function fanoutSchedule(run: Pick<FanoutRun, "rate" | "warmupMs" | "durationMs">, members: number) {
  const interval = 1000 / run.rate;
  const total = Math.floor((run.rate * (run.warmupMs + run.durationMs)) / 1000);
  const offset = (n: number) => n * interval;
  const inWindow = (n: number) => offset(n) >= run.warmupMs && offset(n) < run.warmupMs + run.durationMs;
  let first = 0;
  while (first < total && !inWindow(first)) first++;
  let count = 0;
  while (first + count < total && inWindow(first + count)) count++;
  return {
    interval,
    total,
    /** First window message, and how many there are. */
    first,
    count,
    inWindow,
    sender: (n: number) => (n * STRIDE) % members,
    /** Second of the window message n is due in. */
    secondOf: (n: number) => Math.floor((offset(n) - run.warmupMs) / 1000),
  };
}

/** Message n's clientMessageId: the run's UUID with n in its last 12 hex digits (still a valid UUID). */
export const messageKey = (runId: string, n: number) => `${runId.slice(0, 24)}${n.toString(16).padStart(12, "0")}`;

/** n back from a clientMessageId of this run; undefined for another run's. */
export function messageIndex(runId: string, key: string): number | undefined {
  if (key.length !== 36 || !key.startsWith(runId.slice(0, 24))) return undefined;
  const n = Number.parseInt(key.slice(24), 16);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * One generator's share of a run: what its own sockets saw and its own senders were told.
 * fanout-merge.ts adds the shares up into one FanoutResult.
 */
export interface FanoutShare {
  /** Sockets this generator holds. */
  sockets: number;
  /** Per window message (index k): deliveries of it on this generator's sockets. */
  deliveries: number[];
  /** Per window message: how many of those carried each `id:seq` (the ack check happens in the merge). */
  carried: Array<Record<string, number>>;
  /** Window messages whose sender is here: k → the ok ack's `id:seq`, or null when none came. */
  acks: Record<number, string | null>;
  /** Due time → message:new of every window delivery here (ms). */
  deliveryLatencies: Float64Array;
  /** Due time → ok ack of this generator's window sends (ms). */
  ackLatencies: Float64Array;
  errors: Record<string, number>;
  duplicates: number;
  outOfOrder: number;
  /** Per second of the window: the worst delivery latency here (ms). */
  deliveryMaxBySecond: number[];
  maxSendLagMs: number;
  ackedMessages?: AckedMessage[];
}

export interface FanoutResult {
  label: string;
  rate: number;
  /** Sockets listening (every member, the sender's own socket included: the contract sends it its copy too). */
  sockets: number;
  /** Messages due inside the measured window, and of those acked ok. */
  scheduled: number;
  acked: number;
  errors: Record<string, number>;
  /** scheduled × sockets, and the distinct (message, socket) deliveries of those that arrived by the end of the grace time. */
  deliveriesExpected: number;
  deliveriesReceived: number;
  /** (expected - received) / expected. */
  missingRatio: number;
  /** Received deliveries of window messages per second of the window. */
  deliveriesPerSecond: number;
  /** A message:new for a message the socket already had (any message of the run): must be 0. */
  duplicates: number;
  /** A message:new whose seq is not above the last one that socket saw in the same order stream: must be 0. */
  outOfOrder: number;
  /** message:new carrying another id or seq than the sender's ack said: must be 0. */
  mismatched: number;
  /** Due time → message:new on each socket; a delivery that never came counts as "never" (NEVER_MS). */
  delivery: LatencySummary;
  /** Due time → ok ack on the sender's socket. */
  ack: LatencySummary;
  /** Per second of the window (by due time): the worst delivery latency (ms); NEVER_MS for a missing one. */
  deliveryMaxBySecond: number[];
  /** Worst lateness of the sender loop behind its schedule (ms): the generator's own health. */
  maxSendLagMs: number;
  ackedMessages?: AckedMessage[];
}

export type FanoutReport =
  | { type: "connected"; sockets: number; ms: number }
  | { type: "phase"; phase: "warmup" | "measure" | "drain" }
  | { type: "progress"; label: string; elapsedMs: number; sent: number; acked: number; delivered: number }
  | { type: "result"; share: FanoutShare }
  | { type: "error"; message: string };
