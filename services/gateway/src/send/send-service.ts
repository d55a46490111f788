import { v7 as uuidv7 } from "uuid";
import { ParleyError, type Message, type MessageKind, type Role, type SendMessage } from "@parley/protocol";
import type { PersistItem } from "@parley/db";
import type { MembershipCache } from "../conversations/membership-cache.js";
import type { GatewayMetrics } from "../metrics.js";
import type { DbGuard } from "../guard-db.js";
import type { PendingAcks } from "./pending-acks.js";
import type { UserLimit } from "../limits/rate-limiter.js";
import type { PersistAdmission } from "./persist-admission.js";
import type { PartitionedSendBuffer } from "./partitioned-send-buffer.js";
import type { ModerationWebhook } from "../moderation/moderation-webhook.js";
import type { BlockService } from "../safety/block-service.js";

export interface Sender {
  userId: string;
  name: string;
  /** The token's parley_role: only "service" may send `kind: "system"`, and to any conversation. */
  role: Role;
}

/** A send as the catalog parsed it; `kind: "system"` comes only from HTTP (the socket's schema refuses it). */
export type SendInput = Omit<SendMessage, "kind"> & { kind?: MessageKind | undefined };

export interface SendServiceDeps {
  rateLimiter: UserLimit;
  membership: MembershipCache;
  /** The pod's sends by persist partition (one window each). */
  buffer: Pick<PartitionedSendBuffer, "push" | "partitionOf">;
  /** Refuses new sends before they are queued while the persist path lags past its budget. */
  admission: Pick<PersistAdmission, "check">;
  pending: PendingAcks;
  metrics: GatewayMetrics;
  bodyMaxChars: number;
  dbGuard: DbGuard;
  /**
   * The whole send's budget, every step included (rate limit, membership, commit): past it
   * the sender hears UNAVAILABLE (the contract: within 2 s) and retries with the same id.
   */
  deadlineMs: number;
  /**
   * The moderation webhook (MODERATION_WEBHOOK_URL); undefined when none is configured, and then
   * the send path is exactly what it was: one property test, no call, no await, no allocation.
   */
  moderation?: Pick<ModerationWebhook, "review"> | undefined;
  /** B's sends in a direct conversation with A are refused when A blocks B. */
  blocks: Pick<BlockService, "refuseBlockedDirectSend">;
  /** A service's system message was stored (not a duplicate): the audit log's line (app.ts). */
  onServiceSend: (sender: Sender, message: Message) => void;
}

/**
 * The one send path, for sockets and HTTP alike: admission, rate limit, membership, enqueue, then wait
 * for the commit. Answers only once the message is durable (architecture invariant 1).
 */
export class SendService {
  constructor(private readonly deps: SendServiceDeps) {}

  async send(sender: Sender, input: SendInput): Promise<{ message: Message; duplicate: boolean }> {
    const started = performance.now();
    try {
      const result = await this.sendUnmeasured(sender, input);
      this.deps.metrics.sendAckSeconds.observe({ outcome: "ok" }, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      const outcome = err instanceof ParleyError ? err.code : "INTERNAL";
      this.deps.metrics.sendAckSeconds.observe({ outcome }, (performance.now() - started) / 1000);
      if (outcome === "RATE_LIMITED") this.deps.metrics.rateLimited.inc();
      throw err;
    }
  }

  private async sendUnmeasured(sender: Sender, input: SendInput): Promise<{ message: Message; duplicate: boolean }> {
    const kind = input.kind ?? "text";
    // A system message is a service's (protocol.md v1.1, the service role); anyone else: FORBIDDEN.
    const asService = kind === "system";
    if (asService && sender.role !== "service") throw new ParleyError("FORBIDDEN", "only a token whose parley_role is \"service\" may send system messages");
    if (input.body.length > this.deps.bodyMaxChars) {
      throw new ParleyError("VALIDATION", `body: at most ${this.deps.bodyMaxChars} characters`);
    }
    if (kind === "text" && input.body.trim().length === 0) {
      throw new ParleyError("VALIDATION", "body: a text message needs some text");
    }
    if (kind !== "text" && input.body.length === 0 && !input.attachments?.length) {
      throw new ParleyError("VALIDATION", "attachments: a message without text needs an attachment");
    }
    // First, before any Redis or Postgres work: a send the cluster cannot take now is refused
    // before it is queued (UNAVAILABLE with retryAfterMs; it was not stored).
    this.deps.admission.check(this.deps.buffer.partitionOf(input.conversationId));
    // Each step gets what is left of one deadline, so slow-but-reachable Redis and Postgres
    // cannot add their bounds up past the contract's 2 s.
    const deadline = performance.now() + this.deps.deadlineMs;
    const left = () => Math.max(0, deadline - performance.now());
    // Every attempt counts, retries included (protocol: "every send attempt counted"). The
    // limiter bounds its own Redis call (one per event-loop turn for every send of the pod):
    // no deadline timer per send.
    await this.deps.rateLimiter.consume(sender.userId);
    // A service posts without being a member: the commit checks that the conversation exists
    // (migrations/0014), and answers FORBIDDEN, as to anyone, when it does not.
    if (!asService) {
      const cached = this.deps.membership.cached(input.conversationId, sender.userId);
      const role =
        cached !== undefined
          ? cached
          : await this.deps.dbGuard.run(() => this.deps.membership.role(input.conversationId, sender.userId), left());
      if (!role) throw new ParleyError("FORBIDDEN", "not a member of this conversation");
      await this.deps.blocks.refuseBlockedDirectSend(sender.userId, input.conversationId);
    }

    const item: PersistItem = {
      id: uuidv7(),
      conversationId: input.conversationId,
      senderId: sender.userId,
      senderName: sender.name,
      clientMessageId: input.clientMessageId,
      kind,
      body: input.body,
      replyToId: input.replyToId,
      attachments: input.attachments,
      ...(asService ? { asService: true as const } : {}),
    };
    if (this.deps.moderation) await this.moderate(this.deps.moderation, item, left());
    // Wait first, then enqueue: the answer can never arrive before someone listens for it.
    const answer = this.deps.pending.wait(item.id, left());
    this.deps.metrics.pendingAcks.set(this.deps.pending.size);
    this.deps.buffer.push(item);
    const outcome = await answer;
    this.deps.metrics.pendingAcks.set(this.deps.pending.size);
    if (!outcome.ok) throw new ParleyError(outcome.error.code, outcome.error.message, outcome.error.retryAfterMs);
    if (asService && !outcome.duplicate) this.deps.onServiceSend(sender, outcome.message);
    return { message: outcome.message, duplicate: outcome.duplicate };
  }

  /**
   * Shows the send to the moderation webhook once it is known to be allowed (rate limit,
   * membership), before it is queued: a rejection stores nothing. A replacement is stored with
   * the sent body beside it, over which the send-retry digest is taken (migration 0015), so the
   * retry of a replaced message is answered with the stored one.
   */
  private async moderate(moderation: Pick<ModerationWebhook, "review">, item: PersistItem, budgetMs: number): Promise<void> {
    const reviewed = await moderation.review(
      {
        conversationId: item.conversationId,
        senderId: item.senderId,
        clientMessageId: item.clientMessageId,
        kind: item.kind,
        body: item.body,
        ...(item.replyToId !== undefined ? { replyToId: item.replyToId } : {}),
        ...(item.attachments !== undefined ? { attachments: item.attachments } : {}),
      },
      budgetMs,
    );
    if (reviewed.replaced) {
      item.sentBody = item.body;
      item.body = reviewed.body;
    }
  }
}
