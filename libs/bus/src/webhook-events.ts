import { createHash } from "node:crypto";
import type { QueuedEvent, WebhookEventType } from "@parley/protocol";

/**
 * An event's id, made from what the event is about (`key`: a message id and its version, a
 * conversation id and the change), not drawn at random: every path that may queue one event
 * twice (a hand-off re-run, a retried request) queues the same id, the queue keeps one job per
 * id, and a receiver that saw it already can drop it. A UUID (version 5's layout, SHA-256 cut).
 */
export function webhookEventId(type: WebhookEventType, key: string): string {
  const h = createHash("sha256").update(`${type}\u0000${key}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** An event as it is queued for the events webhook (`data` holds no message text). */
export function webhookEvent(type: WebhookEventType, key: string, data: Record<string, unknown>, at: Date = new Date()): QueuedEvent {
  return { id: webhookEventId(type, key), type, at: at.toISOString(), data };
}
