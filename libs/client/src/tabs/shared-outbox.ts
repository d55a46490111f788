import type { Message } from "@parley/protocol";
import { Outbox, type OutboxDeps } from "../outbox.js";
import type { OutboxRecord } from "../outbox-storage.js";
import type { OutgoingMessage, SendInput } from "../types.js";
import type { OutgoingSnapshot, TabChannel, TabMessage } from "./tab-messages.js";

/** What the client uses of an outbox: an `Outbox`, or this tab's side of the shared one. */
export type OutboxLike = Pick<Outbox, "start" | "enqueue" | "list" | "wake" | "retry" | "discard" | "close">;

export interface SharedOutboxDeps extends OutboxDeps {
  channel: TabChannel;
  tabId: string;
}

interface Mirrored {
  record: OutboxRecord;
  outgoing: OutgoingMessage;
  resolve: (o: OutgoingMessage) => void;
  /** The storage write of this tab's own record: the holder is told only once it is durable. */
  persisted: Promise<void>;
}

/**
 * One tab's side of the outbox its browser's tabs share. Storage (IndexedDB) is the truth;
 * the channel carries what changed so every tab shows the same queue.
 * - The tab that holds the socket runs the real `Outbox` (the only one that sends) over the
 *   shared storage, adopts records the other tabs store, and tells every tab what became of
 *   each message (`outbox:change`).
 * - The other tabs store what they `send()` (durable first), tell the holder, and keep a
 *   mirror of the queue for their views; discard and retry go to the holder.
 * - Taking over, a tab starts its real `Outbox` from storage: nothing another tab queued is
 *   lost, and a send that was in flight goes again with its clientMessageId (stored once).
 */
export class SharedOutbox implements OutboxLike {
  private real: Outbox | undefined;
  private user: { id: string; name: string } | undefined;
  private readonly mirror = new Map<string, Mirrored>();
  /** This tab's own messages from before it held the socket, resolved when the real outbox settles them. */
  private readonly bridged = new Map<string, Mirrored>();
  private order = 0;
  private closed = false;
  private readonly unlisten: () => void;

  constructor(private readonly deps: SharedOutboxDeps) {
    this.unlisten = deps.channel.listen((m) => this.onMessage(m));
  }

  async start(userId: string, senderName: string): Promise<void> {
    this.user = { id: userId, name: senderName };
    if (this.real) return this.real.start(userId, senderName);
    // Messages sent before the user was known: theirs now, stored, and the holder told.
    for (const m of this.mirror.values()) {
      if (m.record.userId) continue;
      Object.assign(m.record, { userId, senderName: m.record.senderName || senderName });
      Object.assign(m.outgoing, { senderId: userId, senderName: m.record.senderName });
      this.store(m);
    }
    let stored: OutboxRecord[] = [];
    try {
      stored = await this.deps.storage.load();
    } catch (err) {
      this.deps.logger.error?.({ err }, "outbox storage could not be read; other tabs' queued messages are not shown");
    }
    if (this.closed || this.real) return;
    for (const record of stored) {
      if (record.userId !== userId || this.mirror.has(record.clientMessageId)) continue;
      this.order = Math.max(this.order, record.order + 1);
      this.deps.onChange(this.track(record, Promise.resolve()).outgoing);
    }
  }

  enqueue(conversationId: string, input: SendInput): OutgoingMessage {
    if (this.real) return this.real.enqueue(conversationId, input);
    const record: OutboxRecord = {
      clientMessageId: this.deps.uuid(),
      conversationId,
      userId: this.user?.id ?? "",
      senderName: this.user?.name ?? "",
      kind: input.kind ?? "text",
      body: input.body,
      ...(input.replyToId !== undefined ? { replyToId: input.replyToId } : {}),
      ...(input.attachments !== undefined ? { attachments: input.attachments } : {}),
      createdAt: new Date(this.deps.now()).toISOString(),
      status: "pending",
      order: this.order++,
    };
    const m = this.track(record, Promise.resolve());
    if (this.user) this.store(m);
    this.deps.onChange(m.outgoing);
    return m.outgoing;
  }

  list(conversationId?: string): OutgoingMessage[] {
    if (this.real) return this.real.list(conversationId);
    return [...this.mirror.values()]
      .filter((m) => conversationId === undefined || m.record.conversationId === conversationId)
      .sort((a, b) => a.record.createdAt.localeCompare(b.record.createdAt) || a.record.order - b.record.order)
      .map((m) => m.outgoing);
  }

  wake(): void {
    this.real?.wake();
  }

  retry(clientMessageId: string): void {
    if (this.real) return this.real.retry(clientMessageId);
    const m = this.mirror.get(clientMessageId);
    if (!m || m.outgoing.status !== "failed") return;
    this.deps.channel.post({ type: "outbox:retry", from: this.deps.tabId, clientMessageId });
  }

  async discard(clientMessageId: string): Promise<void> {
    this.deps.channel.post({ type: "outbox:discard", from: this.deps.tabId, clientMessageId });
    await this.discarded(clientMessageId);
  }

  /** This tab got the socket: from now on its outbox sends, for every tab. */
  async promote(): Promise<void> {
    if (this.closed || this.real) return;
    await Promise.all([...this.mirror.values()].map((m) => m.persisted));
    if (this.closed || this.real) return;
    for (const [id, m] of this.mirror) if (m.record.userId) this.bridged.set(id, m);
    const me = this.deps.tabId;
    this.real = new Outbox({
      ...this.deps,
      onStored: (message) => {
        this.storedNow = message;
        this.deps.onStored(message);
      },
      onChange: (outgoing) => {
        const stored = this.storedNow;
        this.storedNow = undefined;
        this.deps.channel.post({ type: "outbox:change", leader: me, outgoing: snapshot(outgoing), ...(stored ? { stored } : {}) });
        this.settleBridged(outgoing);
        this.deps.onChange(outgoing);
      },
    });
    // Mirrored records without a user yet go into the real outbox the way `send()` before start does.
    const early = [...this.mirror.values()].filter((m) => !m.record.userId);
    this.mirror.clear();
    for (const m of early) this.real.enqueue(m.record.conversationId, { body: m.record.body, kind: m.record.kind });
    if (this.user) await this.real.start(this.user.id, this.user.name);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.real?.close();
    this.unlisten();
  }

  private storedNow: Message | undefined;

  private track(record: OutboxRecord, persisted: Promise<void>): Mirrored {
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
    const m: Mirrored = { record, outgoing, resolve, persisted };
    this.mirror.set(record.clientMessageId, m);
    return m;
  }

  /** Durable first, then the holder hears of it (a holder that goes meanwhile leaves it to the next, which reads storage). */
  private store(m: Mirrored): void {
    m.persisted = this.deps.storage
      .put({ ...m.record })
      .then(() => {
        if (!this.closed && this.mirror.has(m.record.clientMessageId)) this.deps.channel.post({ type: "outbox:put", from: this.deps.tabId, record: { ...m.record } });
      })
      .catch((err: unknown) => this.deps.logger.error?.({ err, clientMessageId: m.record.clientMessageId }, "outbox storage write failed"));
  }

  private onMessage(message: TabMessage): void {
    if (this.closed) return;
    switch (message.type) {
      case "outbox:put":
        return this.real?.adopt(message.record);
      case "outbox:retry":
        return this.real?.retry(message.clientMessageId);
      case "outbox:discard":
        void this.discarded(message.clientMessageId);
        return;
      case "outbox:change":
        if (!this.real) this.follow(message.outgoing, message.stored);
        return;
    }
  }

  /** Follower: what the holder reports of a message. */
  private follow(update: OutgoingSnapshot, stored: Message | undefined): void {
    if (this.user && update.senderId !== this.user.id) return;
    let m = this.mirror.get(update.clientMessageId);
    if (update.status === "sent") {
      if (stored) this.deps.onStored(stored);
      if (!m) return;
      this.mirror.delete(update.clientMessageId);
      Object.assign(m.outgoing, update);
      this.deps.onChange(m.outgoing);
      m.resolve(m.outgoing);
      return;
    }
    if (!m) {
      const record: OutboxRecord = {
        clientMessageId: update.clientMessageId,
        conversationId: update.conversationId,
        userId: update.senderId,
        senderName: update.senderName,
        kind: update.kind,
        body: update.body,
        ...(update.replyToId !== undefined ? { replyToId: update.replyToId } : {}),
        ...(update.attachments !== undefined ? { attachments: update.attachments } : {}),
        createdAt: update.createdAt,
        status: update.status,
        ...(update.error ? { error: update.error } : {}),
        order: 0,
      };
      m = this.track(record, Promise.resolve());
    } else {
      Object.assign(m.outgoing, update);
      m.record.status = update.status;
      if (update.error) m.record.error = update.error;
      else delete m.record.error;
      if (update.status === "failed") m.resolve(m.outgoing);
    }
    this.deps.onChange(m.outgoing);
  }

  /** A discard in any tab: gone from every tab's queue and from storage. */
  private async discarded(clientMessageId: string): Promise<void> {
    const shown = this.real?.list().find((o) => o.clientMessageId === clientMessageId) ?? this.mirror.get(clientMessageId)?.outgoing;
    const m = this.mirror.get(clientMessageId);
    this.mirror.delete(clientMessageId);
    if (this.real) await this.real.discard(clientMessageId);
    else await this.deps.storage.delete(clientMessageId).catch((err: unknown) => this.deps.logger.warn?.({ err }, "outbox storage delete failed"));
    if (m && m.outgoing.status === "pending") {
      Object.assign(m.outgoing, { status: "failed", error: { code: "VALIDATION", message: "discarded by the app" } });
      m.resolve(m.outgoing);
    }
    if (shown) this.deps.onChange(shown);
  }

  private settleBridged(outgoing: OutgoingMessage): void {
    const m = this.bridged.get(outgoing.clientMessageId);
    if (!m || outgoing.status === "pending") return;
    Object.assign(m.outgoing, snapshot(outgoing));
    if (outgoing.status === "sent") this.bridged.delete(outgoing.clientMessageId);
    m.resolve(m.outgoing);
  }
}

function snapshot(outgoing: OutgoingMessage): OutgoingSnapshot {
  const { settled: _settled, ...rest } = outgoing;
  return rest;
}
