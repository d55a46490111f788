// The IPC catalog between the orchestrator (main.ts) and the forked load generator
// (loadgen.ts). Plain JSON-serialisable objects: child_process IPC uses JSON.

/** One simulated user: one socket to one server. */
export interface BenchUser {
  userId: string;
  /** Index into ConnectCommand.urls. */
  server: number;
  /** The one conversation this user belongs to (5 members each). */
  conversationId: string;
  /** JWT for the durable cluster; absent for the ceiling (no auth there). */
  token?: string;
}

export interface ConnectCommand {
  type: "connect";
  urls: string[];
  users: BenchUser[];
  /** Connections opened at once (the rest wait), so the handshakes don't stampede. */
  concurrency: number;
}

export interface RunCommand {
  type: "run";
  /** Messages per second for the whole cluster, scheduled open-loop. */
  rate: number;
  warmupMs: number;
  durationMs: number;
  /** After the last scheduled send, how long acks and deliveries may still arrive. */
  graceMs: number;
  /** Also return the ack'ed messages (id, conversation, seq) for verification. */
  collectAcked: boolean;
  label: string;
}

export type Command = ConnectCommand | RunCommand | { type: "close" };

/**
 * The latency recorded for a send that was never acked ok (an error, or no answer by the
 * end of the grace time), and for a delivery that never came: percentiles are over every
 * scheduled message, so a p99 that lands on a lost message shows as this value ("never"),
 * instead of lost messages silently dropping out of the distribution.
 */
export const NEVER_MS = 1e9;

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface AckedMessage {
  id: string;
  conversationId: string;
  seq: number;
}

/** A send answered UNAVAILABLE with retryAfterMs: the overload bench looks for it in Postgres. */
export interface RefusedSend {
  senderId: string;
  clientMessageId: string;
}

export interface RunResult {
  label: string;
  rate: number;
  /** Scheduled inside the measured window. */
  scheduled: number;
  /** Of those, answered ok within the run + grace. */
  acked: number;
  /** Answered ok:false, by code. */
  errors: Record<string, number>;
  /** Neither answer within the run + grace. */
  unanswered: number;
  /**
   * Of the `errors`, those answered UNAVAILABLE with retryAfterMs: refused before they were
   * queued (admission control; the contract says they were not stored).
   */
  refusedBeforeQueuing: number;
  /** send→ack of the sends acked ok in the window only (the others are not in it, unlike `ack`). */
  ackOk: LatencySummary;
  /** (scheduled - acked) / scheduled. */
  shortfall: number;
  /** Recipient deliveries expected (scheduled × other members) and received in time. */
  deliveriesExpected: number;
  deliveriesReceived: number;
  ack: LatencySummary;
  delivery: LatencySummary;
  /**
   * Per second of the window (by due time): the worst send→ack latency (ms) of the messages
   * due in that second, NEVER_MS for one never acked. Shows whether a tail is a steady queue
   * or a few stalls.
   */
  ackMaxBySecond: number[];
  /** Worst lateness of the sender loop itself behind the schedule (ms): the generator's own health. */
  maxSendLagMs: number;
  /** Measured window, epoch ms. */
  windowStart: number;
  windowEnd: number;
  /** Every message acked ok during the whole run (warm-up included), when asked for. */
  ackedMessages?: AckedMessage[];
  /** Every send refused before queuing during the whole run (warm-up included), when acked messages are asked for. */
  refusedSends?: RefusedSend[];
  /** message:new for an acked id that arrived with a different seq/conversation than the ack: must be 0. */
  mismatchedDeliveries: number;
}

export type Report =
  | { type: "connected"; sockets: number; ms: number }
  | { type: "phase"; phase: "warmup" | "measure" | "drain"; at: number }
  | { type: "progress"; label: string; elapsedMs: number; sent: number; acked: number; failed: number; pending: number; delivered: number }
  | { type: "result"; result: RunResult }
  | { type: "error"; message: string };
