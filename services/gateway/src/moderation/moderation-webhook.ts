import { randomUUID } from "node:crypto";
import {
  isWellFormed,
  ModerationDecisionSchema,
  ParleyError,
  type ModerationDecision,
  type ModerationRequest,
} from "@parley/protocol";
import { DELIVERY_HEADER, signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER, type Logger } from "@parley/runtime";
import type { ModerationMetrics, ModerationOutcome } from "./moderation-metrics.js";

export interface ModerationConfig {
  url: string;
  /** HMAC key: requests are signed as the push webhook's are (libs/runtime/src/webhook-signature.ts). */
  secret: string;
  /** One call's time limit (MODERATION_TIMEOUT_MS); the send's own deadline may cut it shorter. */
  timeoutMs: number;
  /** What a call without a usable answer decides: true lets the message through unchanged. */
  failOpen: boolean;
  /** Calls in flight on this pod at most (MODERATION_MAX_CONCURRENT); past it sends are refused UNAVAILABLE. */
  maxConcurrent: number;
}

export interface ModerationDeps {
  metrics: ModerationMetrics;
  logger: Logger;
  /** The HTTP client; tests keep the real one (receivers in tests are real servers). */
  fetch?: typeof fetch;
  now?: () => number;
}

/** What the send goes on with: the body to store (the sent one, or the webhook's replacement). */
export interface Reviewed {
  body: string;
  replaced: boolean;
}

type Shown = ModerationRequest["message"];

/**
 * The moderation webhook (protocol.md v1.1, MODERATION_WEBHOOK_URL): shows a send to an
 * outside service before it is queued, and answers the body to store, or throws REJECTED.
 *
 * - Bounded: at most `maxConcurrent` calls in flight on this pod. A send past the cap is refused
 *   before it is queued, UNAVAILABLE with retryAfterMs (nothing stored; the client retries):
 *   neither failing open (a flood would pass unreviewed exactly when the reviewer is slow) nor
 *   rejecting (REJECTED tells a sender the content is bad, which nobody said).
 * - A retried send is shown again (a new request id): nothing about a rejection is remembered.
 *   See docs/decisions/0065-moderation-webhook-on-the-send-path.md.
 * - No usable answer (time-out, network error, a non-2xx status, a body that is not a decision,
 *   a replacement the limits refuse): `failOpen` decides, and the metrics say which.
 */
export class ModerationWebhook {
  private active = 0;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(
    private readonly config: ModerationConfig,
    private readonly deps: ModerationDeps,
    /** The limits a replacement must meet, as the sent body did. */
    private readonly bodyMaxChars: number,
  ) {
    this.fetch = deps.fetch ?? fetch;
    this.now = deps.now ?? Date.now;
  }

  /** Calls in flight now (tests and the saturation check). */
  get inFlight(): number {
    return this.active;
  }

  async review(message: Shown, budgetMs: number): Promise<Reviewed> {
    if (this.active >= this.config.maxConcurrent) {
      this.count("saturated");
      throw new ParleyError("UNAVAILABLE", "moderation is busy; retry later (nothing was stored)", this.config.timeoutMs);
    }
    this.active++;
    const started = performance.now();
    let decision: ModerationDecision;
    try {
      decision = await this.call(message, Math.max(1, Math.min(this.config.timeoutMs, budgetMs)));
      this.deps.metrics.seconds.observe({ outcome: decision.action }, (performance.now() - started) / 1000);
    } catch (err) {
      this.deps.metrics.seconds.observe({ outcome: "error" }, (performance.now() - started) / 1000);
      this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err), failOpen: this.config.failOpen }, "moderation webhook gave no usable answer");
      if (this.config.failOpen) {
        this.count("failed_open");
        return { body: message.body, replaced: false };
      }
      this.count("failed_closed");
      throw new ParleyError("REJECTED", "the message could not be reviewed by moderation");
    } finally {
      this.active--;
    }
    this.count(decision.action);
    if (decision.action === "reject") throw new ParleyError("REJECTED", "the message was refused by moderation");
    if (decision.action === "replace") return { body: decision.body, replaced: decision.body !== message.body };
    return { body: message.body, replaced: false };
  }

  private count(decision: ModerationOutcome): void {
    this.deps.metrics.decisions.inc({ decision });
  }

  private async call(message: Shown, timeoutMs: number): Promise<ModerationDecision> {
    const at = this.now();
    const request: ModerationRequest = { type: "message.moderate", id: randomUUID(), at: new Date(at).toISOString(), message };
    const body = JSON.stringify(request);
    const timestamp = Math.floor(at / 1000);
    const res = await this.fetch(this.config.url, {
      method: "POST",
      redirect: "manual",
      headers: {
        "content-type": "application/json",
        "user-agent": "parley-moderation/1",
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: signWebhook(this.config.secret, timestamp, body),
        [DELIVERY_HEADER]: request.id,
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The answer is small; a receiver that streams more is cut off by the time-out above.
    const text = await res.text();
    if (res.status < 200 || res.status >= 300) throw new Error(`the moderation webhook answered ${res.status}`);
    const parsed = ModerationDecisionSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error("the moderation webhook's answer is not a decision");
    if (parsed.data.action === "replace") this.checkReplacement(parsed.data.body, message);
    return parsed.data;
  }

  /** A replacement meets the limits the sent body met; otherwise it counts as no answer. */
  private checkReplacement(body: string, message: Shown): void {
    if (body.length > this.bodyMaxChars) throw new Error(`the replacement is over ${this.bodyMaxChars} characters`);
    if (!isWellFormed(body) || body.includes("\u0000")) throw new Error("the replacement is not well-formed text");
    if (message.kind === "text" && body.trim().length === 0) throw new Error("the replacement of a text message is empty");
    if (message.kind !== "text" && body.length === 0 && !message.attachments?.length) throw new Error("the replacement leaves the message empty");
  }
}
