// The open-loop load generator, forked by main.ts so that its CPU is its own process's and
// its event loop never waits on the orchestrator. It holds one websocket per simulated
// user and sends `message:send` on a fixed schedule: message i is due at start + i/rate,
// whether or not earlier messages were answered, and every latency is measured from that
// due time, so a stalled server (or a stalled generator) shows up in the numbers instead
// of slowing the offered load down (no coordinated omission).
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Socket } from "socket.io-client";
import { LatencyRecorder } from "./latency-recorder.js";
import { runOpenLoop } from "./open-loop.js";
import { openSockets } from "./open-sockets.js";
import { NEVER_MS, type AckedMessage, type BenchUser, type Command, type ConnectCommand, type RefusedSend, type Report, type RunCommand, type RunResult } from "./loadgen-protocol.js";
import { handleCommandsInOrder } from "./command-loop.js";

interface AckShape {
  ok: boolean;
  message?: { id: string; conversationId: string; seq: number };
  error?: { code: string; retryAfterMs?: number };
}

interface DeliveredShape {
  id: string;
  conversationId: string;
  seq: number;
  clientMessageId: string;
}

/** One message in flight. */
interface Flight {
  due: number;
  sender: number;
  inWindow: boolean;
  /** Recipients (users other than the sender) that got message:new, as a bitmask of member slots. */
  gotMask: number;
  answered: boolean;
  id?: string;
  seq?: number;
}

const send = (report: Report) => process.send?.(report);
const epoch = (t: number) => performance.timeOrigin + t;

let users: BenchUser[] = [];
let sockets: Socket[] = [];
/** Member slot of each user inside its conversation (bit index in Flight.gotMask). */
let slotOf: number[] = [];
/** Other members per conversation (members - 1). */
let recipientsOf = new Map<string, number>();
/** The run in progress; deliveries are credited to it. */
let current: RunState | undefined;

class RunState {
  readonly flights = new Map<string, Flight>();
  readonly ack = new LatencyRecorder();
  readonly ackOk = new LatencyRecorder();
  readonly refused: RefusedSend[] = [];
  refusedInWindow = 0;
  readonly delivery = new LatencyRecorder();
  readonly errors: Record<string, number> = {};
  readonly acked: AckedMessage[] = [];
  sent = 0;
  ackedCount = 0;
  ackedInWindow = 0;
  failed = 0;
  delivered = 0;
  deliveredInWindow = 0;
  scheduledInWindow = 0;
  mismatched = 0;
  maxSendLag = 0;
  readonly ackMaxBySecond: number[] = [];
  constructor(readonly command: RunCommand) {}
}

function onDelivered(userIndex: number, message: DeliveredShape): void {
  const run = current;
  const flight = run?.flights.get(message.clientMessageId);
  if (!run || !flight || flight.sender === userIndex) return; // the sender's own copy, or another run's
  const bit = 1 << (slotOf[userIndex] ?? 0);
  if (flight.gotMask & bit) return; // a duplicate delivery to the same socket: counted once
  flight.gotMask |= bit;
  if (flight.id !== undefined && (flight.id !== message.id || flight.seq !== message.seq)) run.mismatched++;
  run.delivered++;
  if (flight.inWindow) {
    run.deliveredInWindow++;
    run.delivery.record(performance.now() - flight.due);
  }
}

async function connect(command: ConnectCommand): Promise<void> {
  const started = performance.now();
  users = command.users;
  const members = new Map<string, number>();
  slotOf = users.map((user) => {
    const slot = members.get(user.conversationId) ?? 0;
    members.set(user.conversationId, slot + 1);
    return slot;
  });
  recipientsOf = new Map([...members].map(([id, n]) => [id, n - 1]));
  sockets = await openSockets<DeliveredShape>({
    urls: command.urls,
    clients: users.map((u) => ({ server: u.server, userId: u.userId, ...(u.token ? { token: u.token } : {}), conversationIds: [u.conversationId] })),
    concurrency: command.concurrency,
    onMessage: onDelivered,
    onDisconnect: (client, reason) => {
      if (!closing) send({ type: "error", message: `socket of ${client.userId} disconnected: ${reason}` });
    },
  });
  send({ type: "connected", sockets: sockets.length, ms: Math.round(performance.now() - started) });
}

let closing = false;

function run(command: RunCommand): Promise<RunResult> {
  const state = new RunState(command);
  current = state;
  const interval = 1000 / command.rate;
  const total = Math.floor((command.rate * (command.warmupMs + command.durationMs)) / 1000);
  const start = performance.now() + 20;
  const windowStart = start + command.warmupMs;
  const windowEnd = start + command.warmupMs + command.durationMs;
  const body = "bench ".repeat(10); // ~60 characters, a typical chat line
  send({ type: "phase", phase: "warmup", at: epoch(start) });

  const sendOne = (n: number, due: number, now: number) => {
    const sender = n % users.length;
    const user = users[sender]!;
    const clientMessageId = randomUUID();
    const inWindow = due >= windowStart && due < windowEnd;
    const flight: Flight = { due, sender, inWindow, gotMask: 0, answered: false };
    state.flights.set(clientMessageId, flight);
    state.sent++;
    if (inWindow) {
      state.scheduledInWindow++;
      state.maxSendLag = Math.max(state.maxSendLag, now - due);
    }
    sockets[sender]!.emit("message:send", { conversationId: user.conversationId, clientMessageId, body: `${body}${n}` }, (ack: AckShape) => {
      if (flight.answered) return;
      flight.answered = true;
      const latency = performance.now() - due;
      if (ack?.ok && ack.message) {
        flight.id = ack.message.id;
        flight.seq = ack.message.seq;
        state.ackedCount++;
        if (command.collectAcked) state.acked.push({ id: ack.message.id, conversationId: ack.message.conversationId, seq: ack.message.seq });
        if (inWindow) {
          state.ackedInWindow++;
          state.ack.record(latency);
          state.ackOk.record(latency);
          const second = Math.floor((due - windowStart) / 1000);
          state.ackMaxBySecond[second] = Math.max(state.ackMaxBySecond[second] ?? 0, latency);
        }
      } else {
        state.failed++;
        const code = ack?.error?.code ?? "MALFORMED_ACK";
        if (inWindow) state.errors[code] = (state.errors[code] ?? 0) + 1;
        if (code === "UNAVAILABLE" && ack?.error?.retryAfterMs !== undefined) {
          if (inWindow) state.refusedInWindow++;
          if (command.collectAcked) state.refused.push({ senderId: user.userId, clientMessageId });
        }
      }
    });
  };

  return new Promise((resolve) => {
    const progress = setInterval(() => {
      send({
        type: "progress",
        label: command.label,
        elapsedMs: Math.round(performance.now() - start),
        sent: state.sent,
        acked: state.ackedCount,
        failed: state.failed,
        pending: state.sent - state.ackedCount - state.failed,
        delivered: state.delivered,
      });
    }, 1000);

    const finish = () => {
      clearInterval(progress);
      const expectedPer = (f: Flight) => recipientsOf.get(users[f.sender]!.conversationId) ?? 0;
      let deliveriesExpected = 0;
      for (const flight of state.flights.values()) {
        if (!flight.inWindow) continue;
        const wanted = expectedPer(flight);
        deliveriesExpected += wanted;
        // Lost sends and deliveries count as "never" in the percentiles (see NEVER_MS).
        if (flight.id === undefined) {
          state.ack.record(NEVER_MS);
          state.ackMaxBySecond[Math.floor((flight.due - windowStart) / 1000)] = NEVER_MS;
        }
        for (let k = popcount(flight.gotMask); k < wanted; k++) state.delivery.record(NEVER_MS);
      }
      const answeredInWindow = state.ackedInWindow + Object.values(state.errors).reduce((a, b) => a + b, 0);
      const result: RunResult = {
        label: command.label,
        rate: command.rate,
        scheduled: state.scheduledInWindow,
        acked: state.ackedInWindow,
        errors: state.errors,
        unanswered: state.scheduledInWindow - answeredInWindow,
        refusedBeforeQueuing: state.refusedInWindow,
        ackOk: state.ackOk.summary(),
        shortfall: state.scheduledInWindow === 0 ? 1 : (state.scheduledInWindow - state.ackedInWindow) / state.scheduledInWindow,
        deliveriesExpected,
        deliveriesReceived: state.deliveredInWindow,
        ack: state.ack.summary(),
        delivery: state.delivery.summary(),
        maxSendLagMs: state.maxSendLag,
        ackMaxBySecond: Array.from({ length: Math.ceil(command.durationMs / 1000) }, (_, k) => Math.round(state.ackMaxBySecond[k] ?? 0)),
        windowStart: epoch(windowStart),
        windowEnd: epoch(windowEnd),
        mismatchedDeliveries: state.mismatched,
        ...(command.collectAcked ? { ackedMessages: state.acked, refusedSends: state.refused } : {}),
      };
      if (current === state) current = undefined;
      resolve(result);
    };

    runOpenLoop({
      start,
      interval,
      total,
      windowStart,
      windowEnd,
      graceMs: command.graceMs,
      sendOne,
      onPhase: (phase, at) => send({ type: "phase", phase, at: epoch(at) }),
      owed: () => {
        for (const flight of state.flights.values()) {
          if (!flight.inWindow) continue;
          const wanted = recipientsOf.get(users[flight.sender]!.conversationId) ?? 0;
          if (!flight.answered || (flight.id !== undefined && popcount(flight.gotMask) < wanted)) return true;
        }
        return false;
      },
      finish,
    });
  });
}

function popcount(mask: number): number {
  let n = 0;
  for (let m = mask; m; m &= m - 1) n++;
  return n;
}

handleCommandsInOrder<Command>(
  async (command) => {
    if (command.type === "connect") await connect(command);
    else if (command.type === "run") send({ type: "result", result: await run(command) });
    else {
      closing = true;
      for (const socket of sockets) socket.close();
      process.disconnect?.();
    }
  },
  (message) => send({ type: "error", message }),
);
