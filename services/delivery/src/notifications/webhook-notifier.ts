import type { Notification, Notifier } from "./notifier.js";
import { NotificationRejectedError } from "./notification-rejected-error.js";
import { DELIVERY_HEADER, signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "@parley/runtime";

export interface WebhookNotifierOptions {
  url: string;
  secret: string;
  /** One attempt's time limit; a timeout is retried like a 5xx. */
  timeoutMs: number;
  now?: () => number;
}

/** The body the webhook receives (docs/notifications.md). */
export function webhookPayload(n: Notification, sentAt: Date) {
  return {
    type: "conversation.unread" as const,
    id: n.id,
    recipientId: n.recipientId,
    conversationId: n.conversationId,
    count: n.count,
    firstSeq: n.firstSeq,
    lastSeq: n.lastSeq,
    latest: n.latest,
    sentAt: sentAt.toISOString(),
  };
}

/**
 * The built-in notifier: a signed JSON POST. Each attempt is signed afresh (a retry hours later
 * must not look like a replay); the delivery id header stays the same so receivers can dedupe.
 * 2xx: delivered. 408, 429, 5xx, timeouts and network errors: retried. Other statuses: refused
 * for good (a redirect too: the URL is wrong, and following it would send the body elsewhere).
 */
export function createWebhookNotifier(opts: WebhookNotifierOptions): Notifier {
  const now = opts.now ?? Date.now;
  return {
    name: "webhook",
    async send(n) {
      const at = now();
      const body = JSON.stringify(webhookPayload(n, new Date(at)));
      const timestamp = Math.floor(at / 1000);
      const res = await fetch(opts.url, {
        method: "POST",
        redirect: "manual",
        headers: {
          "content-type": "application/json",
          "user-agent": "parley-push/1",
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhook(opts.secret, timestamp, body),
          [DELIVERY_HEADER]: n.id,
        },
        body,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      // Drain the body so the connection is reused; its content is not ours to interpret.
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return;
      const reason = `the webhook answered ${res.status}`;
      if (res.status === 408 || res.status === 429 || res.status >= 500) throw new Error(reason);
      throw new NotificationRejectedError(reason, res.status);
    },
  };
}
