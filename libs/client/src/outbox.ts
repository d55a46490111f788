import type { ClientAck, ErrorBody, Message } from "@parley/protocol";
import { fullJitterDelay, type BackoffOptions } from "./backoff.js";
import type { HttpResult } from "./http-api.js";
import type { OutboxRecord, OutboxStorage } from "./outbox-storage.js";
import { PERMANENT_SEND_ERRORS } from "./request-error.js";
import type { ClientLogger, OutgoingMessage, SendInput } from "./types.js";

/** How the outbox reaches the server; the client wires it to the connection and the HTTP API. */
export interface SendTransport {
  /** Sends over the socket; undefined when the socket is not online. */
  socket(record: OutboxRecord): Promise<ClientAck<"message:send">> | undefined;
  /** Sends over HTTP (the fallback while the socket cannot connect). */
  http(record: OutboxRecord): Promise<HttpResult<{ message: Message; duplicate: boolean }>>;
  /** Since when the socket has been down (undefined while online). */
  offlineSince(): number | undefined;
}

export interface OutboxDeps {
  storage: OutboxStorage;
  transport: SendTransport;
  now: () => number;
  uuid: () => string;
  logger: ClientLogger;
  retry: BackoffOptions;
  /** 0 disables the HTTP fallback. */
  httpFallbackAfterMs: number;
  random?: () => number;
  /** A message was stored (acked); called before `onChange` reports it `sent`. */
  onStored: (message: Message) => void;
  /** An own message was added or changed status. */
  onChange: (outgoing: OutgoingMessage) => void;
}

interface Entry {
  record: OutboxRecord;
  outgoing: OutgoingMessage;
  resolve: (o: OutgoingMessage) => void;
  attempt: number;
  /** A transient refusal's `retryAfterMs`: no retry before this, even when the socket comes back. */
  notBefore: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  inFlight: boolean;
  /** The storage write of the latest change; a send waits for it, so nothing goes out that a restart would forget. */
  persisted: Promise<void>;
}

/**
 * Own messages from `send()` until the server acks them. Each is written to storage first,
 * then sent with its clientMessageId, and retried with the same id (the server stores it
 * once) until acked or refused for good:
 * - one message in flight per conversation, in send order, so a conversation's messages are
 *   stored in the order they were written, even after a long time offline;
 * - transient refusals (UNAVAILABLE, RATE_LIMITED, INTERNAL, no ack in time) are retried with
 *   full-jitter backoff, never sooner than `retryAfterMs`;
 * - permanent refusals (VALIDATION, FORBIDDEN, CONFLICT, ...) end as `failed` with the reason;
 * - while the socket has been unable to connect for `httpFallbackAfterMs`, sends go over HTTP.
 */
export class Outbox {
  private readonly entries = new Map<string, Entry>();
  private order = 0;
  private userId: string | undefined;
  private senderName = "";
  private fallbackTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly deps: OutboxDeps) {}

  /**
   * Loads this user's stored messages (from an earlier session) and starts sending. Messages
   * queued by `send()` before the user was known are adopted and persisted now.
   */
  async start(userId: string, senderName: string): Promise<void> {
    this.userId = userId;
    this.senderName = senderName;
    for (const entry of this.entries.values()) {
      entry.record.userId = userId;
      entry.outgoing.senderId = userId;
      if (!entry.outgoing.senderName) entry.outgoing.senderName = entry.record.senderName = senderName;
      entry.persisted = this.persist(entry.record);
      this.deps.onChange(entry.outgoing);
    }
    let stored: OutboxRecord[] = [];
    try {
      stored = await this.deps.storage.load();
    } catch (err) {
      this.deps.logger.error?.({ err }, "outbox storage could not be read; earlier unsent messages are not retried");
    }
    if (this.closed) return;
    for (const record of stored.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.order - b.order)) {
      if (record.userId !== userId || this.entries.has(record.clientMessageId)) continue;
      this.order = Math.max(this.order, record.order + 1);
      const entry = this.makeEntry(record);
      entry.persisted = Promise.resolve();
      this.entries.set(record.clientMessageId, entry);
      this.deps.onChange(entry.outgoing);
    }
    this.wake();
  }

  enqueue(conversationId: string, input: SendInput): OutgoingMessage {
    const record: OutboxRecord = {
      clientMessageId: this.deps.uuid(),
      conversationId,
      userId: this.userId ?? "",
      senderName: this.senderName,
      kind: input.kind ?? "text",
      body: input.body,
      ...(input.replyToId !== undefined ? { replyToId: input.replyToId } : {}),
      ...(input.attachments !== undefined ? { attachments: input.attachments } : {}),
      createdAt: new Date(this.deps.now()).toISOString(),
      status: "pending",
      order: this.order++,
    };
    const entry = this.makeEntry(record);
    // Before the user is known the record is not persisted yet: `start` does it (records are per user).
    entry.persisted = this.userId === undefined ? Promise.resolve() : this.persist(record);
    this.entries.set(record.clientMessageId, entry);
    this.deps.onChange(entry.outgoing);
    this.pump(conversationId);
    return entry.outgoing;
  }

  /**
   * A record another tab of the same browser stored (tabs/shared-outbox.ts): sent from here
   * like one of this outbox's own, in its place in its conversation's order.
   */
  adopt(record: OutboxRecord): void {
    if (this.closed || this.userId === undefined || record.userId !== this.userId || this.entries.has(record.clientMessageId)) return;
    this.order = Math.max(this.order, record.order + 1);
    const entry = this.makeEntry({ ...record });
    this.entries.set(record.clientMessageId, entry);
    this.deps.onChange(entry.outgoing);
    this.pump(record.conversationId);
  }

  /** Pending and failed messages, oldest first. */
  list(conversationId?: string): OutgoingMessage[] {
    const out: OutgoingMessage[] = [];
    for (const e of this.sortedEntries()) if (conversationId === undefined || e.record.conversationId === conversationId) out.push(e.outgoing);
    return out;
  }

  /** The socket is back (or the app asked): send what waits, skipping backoff but not `retryAfterMs`. */
  wake(): void {
    if (this.closed || this.userId === undefined) return;
    const now = this.deps.now();
    for (const entry of this.entries.values()) {
      if (entry.timer && entry.notBefore <= now) {
        clearTimeout(entry.timer);
        entry.timer = undefined;
      }
    }
    for (const conversationId of new Set([...this.entries.values()].map((e) => e.record.conversationId))) this.pump(conversationId);
  }

  retry(clientMessageId: string): void {
    const entry = this.entries.get(clientMessageId);
    if (!entry || entry.outgoing.status !== "failed") return;
    entry.record.status = "pending";
    delete entry.record.error;
    entry.attempt = 0;
    entry.notBefore = 0;
    const fresh = this.makeEntry(entry.record);
    Object.assign(entry, { outgoing: fresh.outgoing, resolve: fresh.resolve });
    entry.persisted = this.persist(entry.record);
    this.deps.onChange(entry.outgoing);
    this.pump(entry.record.conversationId);
  }

  async discard(clientMessageId: string): Promise<void> {
    const entry = this.entries.get(clientMessageId);
    if (!entry) return;
    this.entries.delete(clientMessageId);
    clearTimeout(entry.timer);
    if (entry.outgoing.status === "pending") {
      entry.outgoing.status = "failed";
      entry.outgoing.error = { code: "VALIDATION", message: "discarded by the app" };
      entry.resolve(entry.outgoing);
    }
    await this.deps.storage.delete(clientMessageId);
    this.pump(entry.record.conversationId);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.fallbackTimer);
    this.fallbackTimer = undefined;
    for (const entry of this.entries.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
    }
  }

  private makeEntry(record: OutboxRecord): Entry {
    let resolve!: (o: OutgoingMessage) => void;
    const settled = new Promise<OutgoingMessage>((r) => (resolve = r));
    const outgoing: OutgoingMessage = {
      clientMessageId: record.clientMessageId,
      conversationId: record.conversationId,
      senderId: record.userId,
      senderName: record.senderName,
      kind: record.kind,
      body: record.body,
      ...(record.replyToId !== undefined ? { replyToId: record.replyToId } : {}),
      ...(record.attachments !== undefined ? { attachments: record.attachments } : {}),
      createdAt: record.createdAt,
      status: record.status,
      ...(record.error ? { error: record.error } : {}),
      settled,
    };
    if (record.status === "failed") resolve(outgoing);
    return { record, outgoing, resolve, attempt: 0, notBefore: 0, timer: undefined, inFlight: false, persisted: Promise.resolve() };
  }

  private sortedEntries(): Entry[] {
    return [...this.entries.values()].sort((a, b) => a.record.createdAt.localeCompare(b.record.createdAt) || a.record.order - b.record.order);
  }

  private persist(record: OutboxRecord): Promise<void> {
    return this.deps.storage.put({ ...record }).catch((err: unknown) => {
      // The message still goes out from memory; it just would not survive a restart.
      this.deps.logger.error?.({ err, clientMessageId: record.clientMessageId }, "outbox storage write failed");
    });
  }

  /** Sends the conversation's oldest pending message unless one is already in flight or waiting. */
  private pump(conversationId: string): void {
    if (this.closed || this.userId === undefined) return;
    const head = this.sortedEntries().find((e) => e.record.conversationId === conversationId && e.outgoing.status === "pending");
    if (!head || head.inFlight || head.timer) return;
    void this.attempt(head);
  }

  private async attempt(entry: Entry): Promise<void> {
    entry.inFlight = true;
    await entry.persisted;
    if (this.closed || !this.entries.has(entry.record.clientMessageId)) return;
    const { record } = entry;
    let result: { ok: true; message: Message } | { ok: false; error: ErrorBody };
    const viaSocket = this.deps.transport.socket(record);
    if (viaSocket) {
      const ack = await viaSocket;
      result = ack.ok ? { ok: true, message: ack.message } : { ok: false, error: ack.error };
    } else if (this.fallbackAllowed()) {
      const reply = await this.deps.transport.http(record);
      result = reply.ok ? { ok: true, message: reply.data.message } : { ok: false, error: reply.error };
    } else {
      // Offline and too early for HTTP: `wake()` (socket back) or the fallback timer resumes.
      entry.inFlight = false;
      this.armFallback();
      return;
    }
    entry.inFlight = false;
    if (this.closed || !this.entries.has(record.clientMessageId)) return;

    if (result.ok) this.settle(entry, result.message);
    else if (PERMANENT_SEND_ERRORS.has(result.error.code)) this.fail(entry, result.error);
    else this.backoff(entry, result.error);
  }

  private settle(entry: Entry, message: Message): void {
    this.entries.delete(entry.record.clientMessageId);
    this.deps.storage.delete(entry.record.clientMessageId).catch((err: unknown) => {
      // Harmless: a restart resends it and the server answers `duplicate`.
      this.deps.logger.warn?.({ err }, "outbox storage delete failed");
    });
    Object.assign(entry.outgoing, { status: "sent", message, senderName: message.senderName, createdAt: message.createdAt });
    this.deps.onStored(message);
    this.deps.onChange(entry.outgoing);
    entry.resolve(entry.outgoing);
    this.pump(entry.record.conversationId);
  }

  private fail(entry: Entry, error: ErrorBody): void {
    this.deps.logger.warn?.({ code: error.code, clientMessageId: entry.record.clientMessageId }, "message refused");
    entry.record.status = "failed";
    entry.record.error = error;
    entry.persisted = this.persist(entry.record);
    Object.assign(entry.outgoing, { status: "failed", error });
    this.deps.onChange(entry.outgoing);
    entry.resolve(entry.outgoing);
    this.pump(entry.record.conversationId);
  }

  private backoff(entry: Entry, error: ErrorBody): void {
    const jitter = fullJitterDelay(entry.attempt++, this.deps.retry, this.deps.random);
    const floor = error.retryAfterMs ?? 0;
    entry.notBefore = this.deps.now() + floor;
    const delay = Math.max(floor, jitter);
    this.deps.logger.debug?.({ code: error.code, delay, attempt: entry.attempt }, "send will be retried");
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.pump(entry.record.conversationId);
    }, delay);
  }

  private fallbackAllowed(): boolean {
    const since = this.deps.transport.offlineSince();
    return this.deps.httpFallbackAfterMs > 0 && since !== undefined && this.deps.now() - since >= this.deps.httpFallbackAfterMs;
  }

  private armFallback(): void {
    const since = this.deps.transport.offlineSince();
    if (this.fallbackTimer || this.deps.httpFallbackAfterMs <= 0 || since === undefined) return;
    const delay = Math.max(0, since + this.deps.httpFallbackAfterMs - this.deps.now());
    this.fallbackTimer = setTimeout(() => {
      this.fallbackTimer = undefined;
      this.wake();
    }, delay);
  }
}
