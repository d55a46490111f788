import type { Queue } from "bullmq";
import { JobCatalog, type CommittedMessage } from "@parley/bus";
import type { PersistOutcome } from "@parley/db";
import type { Logger } from "@parley/runtime";
import type { PersisterMetrics } from "./metrics.js";

/**
 * Hands each committed batch's new messages to the delivery service (offline notifications):
 * one `notify` job per batch, not per message. Fire-and-forget: the ack path never waits on it
 * and never fails because of it; a lost hand-off costs notifications, never messages, and is
 * counted and logged. No text is handed off: the push reads it when it leaves, so a message
 * deleted or edited meanwhile is not sent as it was, and no queue keeps the text for a day.
 */
export class HandOff {
  constructor(
    private readonly queue: Queue,
    private readonly metrics: PersisterMetrics,
    private readonly logger: Logger,
  ) {}

  committed(outcomes: readonly PersistOutcome[]): void {
    const messages: CommittedMessage[] = [];
    for (const o of outcomes) {
      if (!o.ok || o.duplicate) continue;
      const m = o.message;
      messages.push({
        id: m.id,
        conversationId: m.conversationId,
        seq: m.seq,
        senderId: m.senderId,
        senderName: m.senderName,
        kind: m.kind,
        createdAt: m.createdAt,
      });
    }
    if (messages.length === 0) return;
    this.queue.add("notify", { messages }, JobCatalog.notify.options).then(
      () => this.metrics.handOffs.inc({ outcome: "ok" }),
      (err: unknown) => {
        this.metrics.handOffs.inc({ outcome: "failed" });
        this.logger.warn({ err: String(err), messages: messages.length }, "hand-off to notifications failed (those messages will not be pushed)");
      },
    );
  }
}
