import { UnrecoverableError } from "bullmq";
import type { WebhookEvent } from "@parley/protocol";
import { DELIVERY_HEADER, signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "@parley/runtime";

export interface EventSenderOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  now?: () => number;
}

export type EventSender = (event: WebhookEvent) => Promise<void>;

/**
 * One POST of one event, signed as the push webhook's requests are (a fresh timestamp and
 * signature per attempt; `x-parley-delivery` is the event id on every attempt, for dedupe).
 * 2xx: delivered. 408, 429, 5xx, time-outs and network errors: thrown, retried with backoff.
 * Any other status (a redirect too): UnrecoverableError, the event is kept as dead at once
 * (a receiver that refuses the event will refuse it again; replay it once that is fixed).
 */
export function createEventSender(opts: EventSenderOptions): EventSender {
  const now = opts.now ?? Date.now;
  return async (event) => {
    const body = JSON.stringify(event);
    const timestamp = Math.floor(now() / 1000);
    const res = await fetch(opts.url, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/json",
        "user-agent": "parley-events/1",
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: signWebhook(opts.secret, timestamp, body),
        [DELIVERY_HEADER]: event.id,
      },
      body,
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return;
    const reason = `the events webhook answered ${res.status}`;
    if (res.status === 408 || res.status === 429 || res.status >= 500) throw new Error(reason);
    throw new UnrecoverableError(reason);
  };
}
