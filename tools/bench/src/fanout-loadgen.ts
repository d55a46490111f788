// The fan-out load generator, forked by fanout.ts: one socket.io-client websocket per member
// of one big conversation, every one of them listening for `message:new`, and an open-loop
// sender: message i is due at start + i/rate, sent by member i·STRIDE mod n whatever the
// answers, and every latency is measured from that due time (no coordinated omission). It
// runs in its own process so the CPU its sockets cost is measured on its own.
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Socket } from "socket.io-client";
import { DeliveryTally } from "./delivery-tally.js";
import { LatencyRecorder } from "./latency-recorder.js";
import { runOpenLoop } from "./open-loop.js";
import { openSockets } from "./open-sockets.js";
import { NEVER_MS, type AckedMessage } from "./loadgen-protocol.js";
import type { FanoutCommand, FanoutConnect, FanoutMember, FanoutReport, FanoutResult, FanoutRun } from "./fanout-protocol.js";

interface AckShape {
  ok: boolean;
  message?: { id: string; conversationId: string; seq: number };
  error?: { code: string };
}

interface DeliveredShape {
  id: string;
  seq: number;
  clientMessageId: string;
}

interface Flight {
  due: number;
  sender: number;
  inWindow: boolean;
  answered: boolean;
  id?: string;
  seq?: number;
}

/** Consecutive messages come from members far apart, alternating between the two servers. */
const STRIDE = 7;

const send = (report: FanoutReport) => process.send?.(report);

let members: FanoutMember[] = [];
let conversationId = "";
let sockets: Socket[] = [];
let closing = false;
let current: RunState | undefined;

class RunState {
  readonly flights = new Map<string, Flight>();
  readonly tally: DeliveryTally;
  readonly delivery = new LatencyRecorder();
  readonly ack = new LatencyRecorder();
  readonly errors: Record<string, number> = {};
  readonly acked: AckedMessage[] = [];
  readonly deliveryMaxBySecond: number[] = [];
  sent = 0;
  ackedCount = 0;
  ackedInWindow = 0;
  delivered = 0;
  deliveredInWindow = 0;
  scheduledInWindow = 0;
  mismatched = 0;
  maxSendLag = 0;
  windowStart = 0;
  constructor(readonly command: FanoutRun) {
    this.tally = new DeliveryTally(sockets.length);
  }
}

function onDelivered(socket: number, message: DeliveredShape): void {
  const run = current;
  const flight = run?.flights.get(message.clientMessageId);
  if (!run || !flight) return; // another run's message
  const stream = run.command.order === "conversation" ? 0 : members[flight.sender]!.server;
  if (!run.tally.deliver(message.clientMessageId, socket, stream, message.seq)) return;
  if (flight.id !== undefined && (flight.id !== message.id || flight.seq !== message.seq)) run.mismatched++;
  run.delivered++;
  if (flight.inWindow) {
    run.deliveredInWindow++;
    const latency = performance.now() - flight.due;
    run.delivery.record(latency);
    const second = Math.floor((flight.due - run.windowStart) / 1000);
    run.deliveryMaxBySecond[second] = Math.max(run.deliveryMaxBySecond[second] ?? 0, latency);
  }
}

async function connect(command: FanoutConnect): Promise<void> {
  const started = performance.now();
  members = command.members;
  conversationId = command.conversationId;
  sockets = await openSockets<DeliveredShape>({
    urls: command.urls,
    clients: members.map((m) => ({ server: m.server, userId: m.userId, ...(m.token ? { token: m.token } : {}), conversationIds: [conversationId] })),
    concurrency: command.concurrency,
    onMessage: onDelivered,
    onDisconnect: (client, reason) => {
      if (!closing) send({ type: "error", message: `socket of ${client.userId} disconnected: ${reason}` });
    },
  });
  send({ type: "connected", sockets: sockets.length, ms: Math.round(performance.now() - started) });
}

function run(command: FanoutRun): Promise<FanoutResult> {
  const state = new RunState(command);
  current = state;
  const interval = 1000 / command.rate;
  const total = Math.floor((command.rate * (command.warmupMs + command.durationMs)) / 1000);
  const start = performance.now() + 20;
  const windowStart = start + command.warmupMs;
  const windowEnd = windowStart + command.durationMs;
  state.windowStart = windowStart;
  const body = "bench ".repeat(10); // ~60 characters, a typical chat line
  send({ type: "phase", phase: "warmup" });

  const sendOne = (n: number, due: number, now: number) => {
    const sender = (n * STRIDE) % members.length;
    const clientMessageId = randomUUID();
    const inWindow = due >= windowStart && due < windowEnd;
    const flight: Flight = { due, sender, inWindow, answered: false };
    state.flights.set(clientMessageId, flight);
    state.tally.expect(clientMessageId);
    state.sent++;
    if (inWindow) {
      state.scheduledInWindow++;
      state.maxSendLag = Math.max(state.maxSendLag, now - due);
    }
    sockets[sender]!.emit("message:send", { conversationId, clientMessageId, body: `${body}${n}` }, (ack: AckShape) => {
      if (flight.answered) return;
      flight.answered = true;
      if (ack?.ok && ack.message) {
        flight.id = ack.message.id;
        flight.seq = ack.message.seq;
        state.ackedCount++;
        if (command.collectAcked) state.acked.push({ id: ack.message.id, conversationId: ack.message.conversationId, seq: ack.message.seq });
        if (inWindow) {
          state.ackedInWindow++;
          state.ack.record(performance.now() - due);
        }
      } else if (inWindow) {
        const code = ack?.error?.code ?? "MALFORMED_ACK";
        state.errors[code] = (state.errors[code] ?? 0) + 1;
      }
    });
  };

  return new Promise((resolve) => {
    const progress = setInterval(() => {
      send({ type: "progress", label: command.label, elapsedMs: Math.round(performance.now() - start), sent: state.sent, acked: state.ackedCount, delivered: state.delivered });
    }, 1000);

    const finish = () => {
      clearInterval(progress);
      const n = sockets.length;
      for (const [key, flight] of state.flights) {
        if (!flight.inWindow) continue;
        if (flight.id === undefined) state.ack.record(NEVER_MS);
        const missing = n - state.tally.count(key);
        for (let k = 0; k < missing; k++) state.delivery.record(NEVER_MS);
        if (missing > 0) state.deliveryMaxBySecond[Math.floor((flight.due - windowStart) / 1000)] = NEVER_MS;
      }
      const expected = state.scheduledInWindow * n;
      const result: FanoutResult = {
        label: command.label,
        rate: command.rate,
        sockets: n,
        scheduled: state.scheduledInWindow,
        acked: state.ackedInWindow,
        errors: state.errors,
        deliveriesExpected: expected,
        deliveriesReceived: state.deliveredInWindow,
        missingRatio: expected === 0 ? 1 : (expected - state.deliveredInWindow) / expected,
        deliveriesPerSecond: Math.round(state.deliveredInWindow / (command.durationMs / 1000)),
        duplicates: state.tally.duplicates,
        outOfOrder: state.tally.outOfOrder,
        mismatched: state.mismatched,
        delivery: state.delivery.summary(),
        ack: state.ack.summary(),
        deliveryMaxBySecond: Array.from({ length: Math.ceil(command.durationMs / 1000) }, (_, k) => Math.round(state.deliveryMaxBySecond[k] ?? 0)),
        maxSendLagMs: Math.round(state.maxSendLag * 10) / 10,
        ...(command.collectAcked ? { ackedMessages: state.acked } : {}),
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
      onPhase: (phase) => send({ type: "phase", phase }),
      owed: () => {
        for (const [key, flight] of state.flights) if (flight.inWindow && !state.tally.complete(key)) return true;
        return false;
      },
      finish,
    });
  });
}

// Commands arrive in order and are handled one at a time.
let queue: Promise<void> = Promise.resolve();
process.on("message", (command: FanoutCommand) => {
  queue = queue.then(async () => {
    try {
      if (command.type === "connect") await connect(command);
      else if (command.type === "run") send({ type: "result", result: await run(command) });
      else {
        closing = true;
        for (const socket of sockets) socket.close();
        process.disconnect?.();
      }
    } catch (error) {
      send({ type: "error", message: error instanceof Error ? error.message : String(error) });
    }
  });
});
