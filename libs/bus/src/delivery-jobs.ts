import { z } from "zod";
import { IsoTimestampSchema, MessageKindSchema, QueuedEventSchema, SeqSchema, UserIdSchema, UuidSchema } from "@parley/protocol";

/** A `message:delivered` watermark as the gateway hands it to the delivery service. */
export const DeliveredReceiptSchema = z.object({ conversationId: UuidSchema, userId: UserIdSchema, seq: SeqSchema });
export type DeliveredReceipt = z.infer<typeof DeliveredReceiptSchema>;

/**
 * A newly committed message as the persister hands it to notifications: who sent what seq where,
 * and no text. The push reads the text from Postgres when it is sent, so a message deleted or
 * edited meanwhile is never pushed with the text it had (and no job or Redis key holds it).
 */
export const CommittedMessageSchema = z.object({
  id: UuidSchema,
  conversationId: UuidSchema,
  seq: SeqSchema.min(1),
  senderId: UserIdSchema,
  senderName: z.string(),
  kind: MessageKindSchema,
  createdAt: IsoTimestampSchema,
});
export type CommittedMessage = z.infer<typeof CommittedMessageSchema>;

/**
 * The job catalog of the BullMQ queues the delivery service consumes: queue name → job data
 * schema and retry policy. (Sends reach the persister through a Redis Stream, not a queue:
 * persist-entry.ts.)
 */
export const JobCatalog = {
  /**
   * `message:delivered` watermarks of one gateway window, coalesced per (conversation, user).
   * Retried through a Postgres outage; applying one twice is harmless (GREATEST).
   */
  receipts: {
    data: z.object({ receipts: z.array(DeliveredReceiptSchema).min(1).max(5_000) }),
    options: {
      attempts: 10,
      backoff: { type: "exponential", delay: 200 },
      removeOnComplete: true,
      removeOnFail: { age: 24 * 3600, count: 1_000 },
    },
  },
  /**
   * The messages of one committed batch, handed from the persister to notifications. Applying
   * one twice, or batches of one conversation in any order, counts each seq once (the collapse
   * state remembers the seqs it has counted).
   */
  notify: {
    data: z.object({ messages: z.array(CommittedMessageSchema).min(1).max(20_000) }),
    options: {
      attempts: 10,
      backoff: { type: "exponential", delay: 500 },
      removeOnComplete: true,
      removeOnFail: { age: 24 * 3600, count: 1_000 },
    },
  },
  /**
   * One collapsed notification: a (conversation, recipient) window, named by the seq that
   * opened it. Attempts and backoff are the delivery service's (PUSH_ATTEMPTS, PUSH_BACKOFF_MS).
   */
  push: {
    data: z.object({ conversationId: UuidSchema, recipientId: UserIdSchema, window: SeqSchema.min(1) }),
    options: {
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
    },
  },
  /**
   * One event for the events webhook (EVENTS_WEBHOOK_URL), its job id the event's id (a second
   * add of one event is a no-op while the first is kept). One BullMQ attempt: the delivery
   * service retries by moving the job back to the delayed set itself (EVENTS_WEBHOOK_ATTEMPTS,
   * EVENTS_WEBHOOK_BACKOFF_MS), so whoever queues an event needs no retry settings. An event
   * out of tries is kept as a failed job, 30 days or the newest 100,000, to be replayed
   * (docs/webhooks.md).
   */
  events: {
    data: QueuedEventSchema,
    options: {
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 30 * 24 * 3600, count: 100_000 },
    },
  },
  /**
   * Erasure of one user (DELETE /v1/admin/users/:userId). Every step is idempotent, so a worker
   * killed mid-way leaves a job that the next worker runs again from the start of what is left.
   */
  erasure: {
    data: z.object({ userId: UserIdSchema, requestedBy: UserIdSchema }),
    options: {
      attempts: 20,
      backoff: { type: "exponential", delay: 1_000 },
      removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
      removeOnFail: { age: 30 * 24 * 3600, count: 10_000 },
    },
  },
  /** The retention sweep, a repeatable job (MESSAGE_RETENTION_SWEEP_MS); its data is empty. */
  retention: {
    data: z.object({}),
    options: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  },
} as const;

export type JobName = keyof typeof JobCatalog;
/** A job's data as its queue's schema reads it. */
export type JobData<N extends JobName> = z.infer<(typeof JobCatalog)[N]["data"]>;
