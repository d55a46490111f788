import type { JobsOptions } from "bullmq";
import { JobCatalog, type CommittedMessage } from "@parley/bus";
import type { PersistOutcome } from "@parley/db";
import type { Message } from "@parley/protocol";
import type { Logger } from "@parley/runtime";
import type { PersisterMetrics } from "../metrics.js";

/** Where hand-offs go: the `notify` queue (BullMQ's Queue; the narrow shape lets tests record). */
export interface NotifyQueue {
  add(name: "notify", data: { messages: CommittedMessage[] }, opts: JobsOptions): Promise<unknown>;
}

/** A window holding this many messages is handed off at once, so one `notify` job stays small under load. */
export const HAND_OFF_MAX_MESSAGES = 1_000;

export interface HandOffOptions {
  /**
   * Commits of this window share one `notify` job: a job costs the delivery service about the
   * same whatever it holds (BullMQ's scripts, one read of the conversations' members, one
   * presence HMGET), at moderate rates nearly every commit holds one message, and
   * notifications wait out a collapse window of seconds anyway (PUSH_COLLAPSE_MS). Why and
   * the measurements: docs/decisions/0011-notify-hand-off-window.md. 0: no window.
   */
  windowMs: number;
  /** A window holding this many messages is handed off at once. */
  maxMessages: number;
}

/**
 * Hands committed messages to the delivery service (offline notifications): one `notify` job
 * per window of commits, not per message. The ack path never waits on it and never fails
 * because of it; only the entries' XACKs wait for it (settled()), so a persister that dies
 * inside the window has its entries redelivered and their messages handed off again. A failed
 * hand-off costs notifications, never messages, and is counted and logged. No text is handed off: the push reads it when it leaves, so a message
 * deleted or edited meanwhile is not sent as it was, and no queue keeps the text for a day.
 */
export class HandOff {
  private pending: CommittedMessage[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Resolved when the open window's hand-off has settled; made by the first settled() call. */
  private windowSettled: Promise<void> | undefined;
  private settleWindow: (() => void) | undefined;

  constructor(
    private readonly queue: NotifyQueue,
    private readonly metrics: PersisterMetrics,
    private readonly logger: Logger,
    private readonly options: HandOffOptions,
  ) {}

  /** The new messages of a commit. */
  committed(outcomes: readonly PersistOutcome[]): void {
    this.add(outcomes.flatMap((o) => (o.ok && !o.duplicate ? [o.message] : [])));
  }

  /**
   * Messages to hand off (again: stored by an earlier try of their entry that may have died
   * before its hand-off; the delivery service counts each seq once per recipient).
   */
  add(messages: readonly Message[]): void {
    for (const m of messages) {
      this.pending.push({
        id: m.id,
        conversationId: m.conversationId,
        seq: m.seq,
        senderId: m.senderId,
        senderName: m.senderName,
        kind: m.kind,
        createdAt: m.createdAt,
      });
    }
    if (this.pending.length === 0) return;
    if (this.pending.length >= this.options.maxMessages || this.options.windowMs === 0) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => this.flush(), this.options.windowMs);
    // Never what keeps the process alive: close() hands off what is left.
    this.timer.unref();
  }

  /**
   * Resolves once everything given so far has left (or failed to leave): an entry is XACKed
   * only then (after-commit.ts), so a persister that dies inside the window leaves the entry
   * pending and its redelivery hands the messages off again.
   */
  settled(): Promise<void> {
    const waits: Promise<unknown>[] = [...this.inFlight];
    if (this.pending.length > 0) waits.push((this.windowSettled ??= new Promise((resolve) => (this.settleWindow = resolve))));
    return Promise.allSettled(waits).then(() => undefined);
  }

  /** Hands off what the window holds now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const messages = this.pending;
    this.pending = [];
    const settleWindow = this.settleWindow;
    this.windowSettled = undefined;
    this.settleWindow = undefined;
    const added = this.queue.add("notify", { messages }, JobCatalog.notify.options).then(
      () => this.metrics.handOffs.inc({ outcome: "ok" }),
      (err: unknown) => {
        this.metrics.handOffs.inc({ outcome: "failed" });
        this.logger.warn({ err: String(err), messages: messages.length }, "hand-off to notifications failed (those messages will not be pushed)");
      },
    );
    this.inFlight.add(added);
    void added.finally(() => {
      this.inFlight.delete(added);
      settleWindow?.();
    });
  }

  /** Hands off the open window and waits for every hand-off in flight (before the queue closes). */
  async close(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }
}
