import { z } from "zod";
import {
  AttachmentSchema,
  ErrorBodySchema,
  MessageKindSchema,
  MessageSchema,
  UserIdSchema,
  UuidSchema,
} from "@parley/protocol";


export const PersistItemSchema = z.object({
  id: UuidSchema,
  conversationId: UuidSchema,
  senderId: UserIdSchema,
  senderName: z.string(),
  clientMessageId: UuidSchema,
  kind: MessageKindSchema,
  body: z.string(),
  replyToId: UuidSchema.optional(),
  attachments: z.array(AttachmentSchema).optional(),
});

/**
 * The job catalog: queue name → job data schema and retry policy. A persist job is one
 * gateway's batch of sends; `replyTo` is the pod whose sockets wait for the acks.
 */
export const JobCatalog = {
  persist: {
    data: z.object({ replyTo: z.string().min(1), items: z.array(PersistItemSchema).min(1).max(5_000) }),
    // Retries cover a Postgres outage: the sender was answered UNAVAILABLE after 2 s and
    // retries with the same clientMessageId; whichever attempt commits first wins.
    options: {
      attempts: 12,
      backoff: { type: "exponential", delay: 200 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
    },
  },
} as const;

export type JobName = keyof typeof JobCatalog;
export type JobData<N extends JobName> = z.infer<(typeof JobCatalog)[N]["data"]>;

export const PersistOutcomeSchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), message: MessageSchema, duplicate: z.boolean() }),
  z.object({ ok: z.literal(false), error: ErrorBodySchema }),
]);

/**
 * One answer on a pod's ack channel. `itemId` is the id the gateway gave the item it enqueued,
 * so each send gets exactly its own outcome, whatever order commits come back in.
 */
export const AckSchema = z.object({ itemId: UuidSchema, outcome: PersistOutcomeSchema });
export type Ack = z.infer<typeof AckSchema>;

/** What the persister publishes on a pod's ack channel after a commit. */
export const AckBatchSchema = z.object({ acks: z.array(z.unknown()) });
export type AckBatch = { acks: Ack[] };
