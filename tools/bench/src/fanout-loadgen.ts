// The fan-out load generator, forked by fanout.ts (two of them by default): one
// socket.io-client websocket per member of its share of one big conversation, every one of
// them listening for `message:new`, and an open-loop sender for its share of the messages:
// message n is due at start + n/rate, sent by member n·STRIDE mod members whatever the
// answers, and every latency is measured from that due time (no coordinated omission). Every
// generator derives the same schedule and the same clientMessageIds (fanout-protocol.ts), so
// each can time and check every message on its own sockets without asking the others; the
// orchestrator adds the shares up (fanout-merge.ts). Its own process, so the CPU its sockets
// cost is measured on its own and one generator's single thread does not cap the measurement.
import { performance } from "node:perf_hooks";
import type { Socket } from "socket.io-client";
import { DeliveryTally } from "./delivery-tally.js";
import { LatencyRecorder } from "./latency-recorder.js";
import { runOpenLoop } from "./open-loop.js";
import { openSockets } from "./open-sockets.js";
import { handleCommandsInOrder } from "./command-loop.js";
import type { AckedMessage } from "./loadgen-protocol.js";
import {
  fanoutSchedule,
  generatorOf,
  messageIndex,
  messageKey,
  type FanoutCommand,
  type FanoutConnect,
  type FanoutMember,
  type FanoutReport,
  type FanoutRun,
  type FanoutShare,
} from "./fanout-protocol.js";

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

const send = (report: FanoutReport) => process.send?.(report);

let members: FanoutMember[] = [];
/** Member index → this generator's socket index, for the members it holds. */
let localOf = new Map<number, number>();
let servers = 1;
let conversationId = "";
let sockets: Socket[] = [];
let closing = false;
let current: RunState | undefined;

class RunState {
  readonly schedule: ReturnType<typeof fanoutSchedule>;
  readonly tally: DeliveryTally;
  readonly delivery = new LatencyRecorder();
  readonly ack = new LatencyRecorder();
  readonly errors: Record<string, number> = {};
  readonly acked: AckedMessage[] = [];
  readonly deliveryMaxBySecond: number[] = [];
  readonly deliveries: number[];
  readonly carried: Array<Record<string, number>>;
  readonly acks: Record<number, string | null> = {};
  /** performance.now() of message 0's due time in this process. */
  readonly start: number;
  sent = 0;
  ackedCount = 0;
  delivered = 0;
  maxSendLag = 0;
  constructor(readonly command: FanoutRun) {
    this.schedule = fanoutSchedule(command, members.length);
    this.tally = new DeliveryTally(sockets.length);
    this.deliveries = new Array<number>(this.schedule.count).fill(0);
    this.carried = Array.from({ length: this.schedule.count }, () => ({}));
    this.start = command.startAt - performance.timeOrigin;
  }
  due(n: number): number {
    return this.start + n * this.schedule.interval;
  }
}

function onDelivered(socket: number, message: DeliveredShape): void {
  const run = current;
  const n = run ? messageIndex(run.command.runId, message.clientMessageId) : undefined;
  if (!run || n === undefined || n >= run.schedule.total) return; // another run's message
  const stream = run.command.order === "conversation" ? 0 : members[run.schedule.sender(n)]!.server;
  if (!run.tally.deliver(message.clientMessageId, socket, stream, message.seq)) return;
  run.delivered++;
  const k = n - run.schedule.first;
  if (k >= 0 && k < run.schedule.count) {
    run.deliveries[k]!++;
    const carried = run.carried[k]!;
    const value = `${message.id}:${message.seq}`;
    carried[value] = (carried[value] ?? 0) + 1;
    const latency = performance.now() - run.due(n);
    run.delivery.record(latency);
    const second = run.schedule.secondOf(n);
    run.deliveryMaxBySecond[second] = Math.max(run.deliveryMaxBySecond[second] ?? 0, latency);
  }
}

async function connect(command: FanoutConnect): Promise<void> {
  const started = performance.now();
  members = command.members;
  servers = command.urls.length;
  conversationId = command.conversationId;
  const mine = members.map((m, u) => ({ m, u })).filter(({ u }) => generatorOf(u, servers, command.generators) === command.generator);
  localOf = new Map(mine.map(({ u }, i) => [u, i]));
  sockets = await openSockets<DeliveredShape>({
    urls: command.urls,
    clients: mine.map(({ m }) => ({ server: m.server, userId: m.userId, ...(m.token ? { token: m.token } : {}), conversationIds: [conversationId] })),
    concurrency: command.concurrency,
    onMessage: onDelivered,
    onDisconnect: (client, reason) => {
      if (!closing) send({ type: "error", message: `socket of ${client.userId} disconnected: ${reason}` });
    },
  });
  send({ type: "connected", sockets: sockets.length, ms: Math.round(performance.now() - started) });
}

function run(command: FanoutRun): Promise<FanoutShare> {
  const state = new RunState(command);
  current = state;
  const { schedule } = state;
  for (let n = 0; n < schedule.total; n++) state.tally.expect(messageKey(command.runId, n));
  const windowStart = state.start + command.warmupMs;
  const windowEnd = windowStart + command.durationMs;
  const body = "bench ".repeat(10); // ~60 characters, a typical chat line

  const sendOne = (n: number, due: number, now: number) => {
    const sender = schedule.sender(n);
    const local = localOf.get(sender);
    if (local === undefined) return; // another generator's message
    const k = n - schedule.first;
    const inWindow = k >= 0 && k < schedule.count;
    state.sent++;
    if (inWindow) {
      state.acks[k] = null;
      state.maxSendLag = Math.max(state.maxSendLag, now - due);
    }
    let answered = false;
    sockets[local]!.emit("message:send", { conversationId, clientMessageId: messageKey(command.runId, n), body: `${body}${n}` }, (ack: AckShape) => {
      if (answered) return;
      answered = true;
      if (ack?.ok && ack.message) {
        state.ackedCount++;
        if (command.collectAcked) state.acked.push({ id: ack.message.id, conversationId: ack.message.conversationId, seq: ack.message.seq });
        if (inWindow) {
          state.acks[k] = `${ack.message.id}:${ack.message.seq}`;
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
      send({ type: "progress", label: command.label, elapsedMs: Math.round(performance.now() - state.start), sent: state.sent, acked: state.ackedCount, delivered: state.delivered });
    }, 1000);

    const finish = () => {
      clearInterval(progress);
      const share: FanoutShare = {
        sockets: sockets.length,
        deliveries: state.deliveries,
        carried: state.carried,
        acks: state.acks,
        deliveryLatencies: state.delivery.values(),
        ackLatencies: state.ack.values(),
        errors: state.errors,
        duplicates: state.tally.duplicates,
        outOfOrder: state.tally.outOfOrder,
        deliveryMaxBySecond: Array.from({ length: Math.ceil(command.durationMs / 1000) }, (_, s) => state.deliveryMaxBySecond[s] ?? 0),
        maxSendLagMs: Math.round(state.maxSendLag * 10) / 10,
        ...(command.collectAcked ? { ackedMessages: state.acked } : {}),
      };
      if (current === state) current = undefined;
      resolve(share);
    };

    send({ type: "phase", phase: "warmup" });
    runOpenLoop({
      start: state.start,
      interval: schedule.interval,
      total: schedule.total,
      windowStart,
      windowEnd,
      graceMs: command.graceMs,
      sendOne,
      onPhase: (phase) => send({ type: "phase", phase }),
      // What this generator still owes: a window message not yet on every one of its sockets.
      owed: () => state.deliveries.some((d) => d < sockets.length),
      finish,
    });
  });
}

handleCommandsInOrder<FanoutCommand>(
  async (command) => {
    if (command.type === "connect") await connect(command);
    else if (command.type === "run") send({ type: "result", share: await run(command) });
    else {
      closing = true;
      for (const socket of sockets) socket.close();
      process.disconnect?.();
    }
  },
  (message) => send({ type: "error", message }),
);
