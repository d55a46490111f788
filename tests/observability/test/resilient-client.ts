import { randomUUID } from "node:crypto";
import type { Message, SendMessage } from "@parley/protocol";
import { ask, connectSocket, type ClientSocket } from "./socket-client.js";

/** One drop and the way back: when the socket went, when a session was ready again, when the first send was acked after that. */
export interface Reconnect {
  from: string;
  to: string;
  reason: string;
  disconnectedAt: number;
  reconnectedAt?: number;
  firstAckAt?: number;
  attempts: number;
}

/** What one member received of one conversation, in seq order, and how. */
class ConversationLog {
  /** delivered[seq - 1]: every message once, in seq order. */
  readonly delivered: Message[] = [];
  private readonly waiting = new Map<number, Message>();
  readonly via = { live: 0, sync: 0 };
  /** The same message again (live and sync overlap after a reconnect): dropped by id, as clients do. */
  repeats = 0;
  /** A seq that came with another message id than the one already delivered: must never happen. */
  readonly mismatches: string[] = [];

  /** Takes a message; answers true when it reveals a gap (a later seq while an earlier one is missing). */
  take(message: Message, via: "live" | "sync"): boolean {
    const next = this.delivered.length + 1;
    if (message.seq < next) {
      if (this.delivered[message.seq - 1]!.id === message.id) this.repeats += 1;
      else this.mismatches.push(`seq ${message.seq}: ${this.delivered[message.seq - 1]!.id} then ${message.id}`);
      return false;
    }
    if (message.seq > next) {
      this.waiting.set(message.seq, message);
      return true;
    }
    this.delivered.push(message);
    this.via[via] += 1;
    for (let seq = next + 1; this.waiting.has(seq); seq++) {
      this.delivered.push(this.waiting.get(seq)!);
      this.waiting.delete(seq);
      this.via[via] += 1;
    }
    return false;
  }

  get cursor(): number {
    return this.delivered.length;
  }
}

export interface ResilientClientOptions {
  userId: string;
  token: string;
  /** Every gateway's URL; the client starts on `start` and, when dropped, tries the next one first. */
  gateways: string[];
  start: number;
  conversations: string[];
  sendEveryMs: number;
}

/**
 * A chat client that behaves as the contract says clients do: every message gets its own
 * clientMessageId, kept until acked; when the socket drops it reconnects (to another
 * gateway first), re-sends every unacked message with the same clientMessageId and
 * catches up with `sync` from its per-conversation cursors; a seq gap on the live stream
 * also triggers a sync. Messages are kept once each, in seq order.
 */
export class ResilientClient {
  private socket: ClientSocket | undefined;
  private current: number;
  /** Bumped on every new socket: answers of an older socket do not drive retries. */
  private generation = 0;
  private closed = false;
  private sender: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private turn = 0;

  /** clientMessageId → payload, until acked. */
  readonly outbox = new Map<string, SendMessage>();
  /** Every message this client made, acked or not: clientMessageId → conversation. */
  readonly created = new Map<string, string>();
  /** clientMessageId → the stored message (from its ack). */
  readonly acked = new Map<string, Message>();
  readonly logs = new Map<string, ConversationLog>();
  readonly reconnects: Reconnect[] = [];
  /** Acks that were not ok, by code (or "no-ack": a timeout or the socket dropping first). */
  readonly failures: Record<string, number> = {};
  /** Sends acked a second time (a re-send raced its first answer). */
  duplicateAcks = 0;
  /** Acks with `duplicate: true`: a re-send of a message already stored (its first ack was lost with the socket). */
  duplicateAnswers = 0;

  constructor(private readonly options: ResilientClientOptions) {
    this.current = options.start;
    for (const id of options.conversations) this.logs.set(id, new ConversationLog());
  }

  get userId(): string {
    return this.options.userId;
  }

  get connected(): boolean {
    return this.socket !== undefined;
  }

  async connect(): Promise<void> {
    this.attach(await connectSocket(this.options.gateways[this.current]!, this.options.token));
  }

  startSending(): void {
    this.sender = setInterval(() => {
      const conversationId = this.options.conversations[this.turn++ % this.options.conversations.length]!;
      const clientMessageId = randomUUID();
      const payload: SendMessage = { conversationId, clientMessageId, body: `${this.options.userId} #${this.turn}` };
      this.created.set(clientMessageId, conversationId);
      this.outbox.set(clientMessageId, payload);
      this.send(clientMessageId);
    }, this.options.sendEveryMs);
  }

  stopSending(): void {
    clearInterval(this.sender);
  }

  /** Catches up on every conversation from its cursor (what a client also does when it comes back to the foreground). */
  sync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      try {
        do {
          this.syncAgain = false;
          await this.syncOnce();
        } while (this.syncAgain);
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  close(): void {
    this.closed = true;
    this.stopSending();
    this.socket?.close();
  }

  private async syncOnce(): Promise<void> {
    const socket = this.socket;
    if (!socket) return; // the next reconnect syncs
    for (;;) {
      const cursors = Object.fromEntries([...this.logs].map(([id, log]) => [id, log.cursor]));
      let answer;
      try {
        answer = await ask(socket, "sync", { cursors, limit: 500 });
      } catch {
        return; // dropped meanwhile: the reconnect syncs again
      }
      if (!answer.ok) {
        this.fail(`sync:${answer.error.code}`);
        return;
      }
      let more = false;
      for (const conversation of answer.conversations) {
        const log = this.logs.get(conversation.id);
        if (!log) continue;
        for (const message of conversation.messages) log.take(message, "sync");
        more ||= conversation.hasMore;
      }
      if (!more) return;
    }
  }

  private send(clientMessageId: string): void {
    const payload = this.outbox.get(clientMessageId);
    const socket = this.socket;
    if (!payload || !socket) return; // acked already, or offline: re-sent after the reconnect
    const generation = this.generation;
    const retry = (ms: number) => {
      if (generation === this.generation && !this.closed) setTimeout(() => this.send(clientMessageId), ms);
    };
    ask(socket, "message:send", payload, 5_000).then(
      (answer) => {
        if (!answer.ok) {
          this.fail(answer.error.code);
          return retry(answer.error.retryAfterMs ?? 300);
        }
        if (answer.duplicate) this.duplicateAnswers += 1;
        if (this.acked.has(clientMessageId)) this.duplicateAcks += 1;
        else this.acked.set(clientMessageId, answer.message);
        this.outbox.delete(clientMessageId);
        const last = this.reconnects.at(-1);
        if (last?.reconnectedAt && last.firstAckAt === undefined && generation === this.generation) last.firstAckAt = Date.now();
      },
      () => {
        this.fail("no-ack");
        retry(300);
      },
    );
  }

  private attach(socket: ClientSocket): void {
    this.socket = socket;
    this.generation += 1;
    socket.on("message:new", (message) => {
      const log = this.logs.get(message.conversationId);
      if (log?.take(message, "live")) void this.sync();
    });
    socket.once("disconnect", (reason) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.closed) return;
      this.reconnects.push({ from: this.options.gateways[this.current]!, to: "", reason, disconnectedAt: Date.now(), attempts: 0 });
      void this.reconnect();
    });
  }

  private async reconnect(): Promise<void> {
    const record = this.reconnects.at(-1)!;
    const n = this.options.gateways.length;
    for (let attempt = 0; !this.closed; attempt++) {
      // Another gateway first: the one that dropped us is draining.
      const index = (this.current + 1 + attempt) % n;
      record.attempts += 1;
      try {
        const socket = await connectSocket(this.options.gateways[index]!, this.options.token, 3_000);
        if (this.closed) return void socket.close();
        this.current = index;
        record.to = this.options.gateways[index]!;
        record.reconnectedAt = Date.now();
        this.attach(socket);
        for (const clientMessageId of this.outbox.keys()) this.send(clientMessageId);
        await this.sync();
        return;
      } catch {
        // Refused (draining) or not listening (restarting): back off a little, with jitter.
        await new Promise((r) => setTimeout(r, Math.min(1_000, 100 * 2 ** attempt) * (0.5 + Math.random())));
      }
    }
  }

  private fail(what: string): void {
    this.failures[what] = (this.failures[what] ?? 0) + 1;
  }
}
