// The IPC catalog between the fan-out orchestrator (fanout.ts) and its forked load generator
// (fanout-loadgen.ts). Plain JSON-serialisable objects: child_process IPC uses JSON.
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
  members: FanoutMember[];
  /** Handshakes in flight at once, so 1,000 of them don't stampede the servers. */
  concurrency: number;
}

export interface FanoutRun {
  type: "run";
  label: string;
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
  | { type: "result"; result: FanoutResult }
  | { type: "error"; message: string };
