import type { Queue } from "bullmq";
import { HANDOFF_PREVIEW_CHARS, JobCatalog, type CommittedMessage } from "@parley/bus";
import type { PersistOutcome } from "@parley/db";
import type { Logger } from "@parley/runtime";
import type { PersisterMetrics } from "./metrics.js";

/**
 * Hands each committed batch's new messages to the delivery service (offline notifications):
 * one `notify` job per batch, not per message. Fire-and-forget: the ack path never waits on it
 * and never fails because of it; a lost hand-off costs notifications, never messages, and is
 * counted and logged.
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
        preview: previewOf(m.body ?? ""),
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

/** The start of a text within HANDOFF_PREVIEW_CHARS UTF-16 units, cut between code points (never an emoji in half). */
export function previewOf(text: string): string {
  if (text.length <= HANDOFF_PREVIEW_CHARS) return text;
  let out = "";
  for (const ch of text) {
    if (out.length + ch.length > HANDOFF_PREVIEW_CHARS) break;
    out += ch;
  }
  return out;
}
