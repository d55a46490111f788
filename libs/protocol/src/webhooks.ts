import { z } from "zod";
import { AttachmentSchema, IsoTimestampSchema, MessageKindSchema, MessageSchema, UserIdSchema, UuidSchema } from "./entities.js";

/**
 * What the moderation webhook (MODERATION_WEBHOOK_URL) is shown before a message is stored: a
 * signed JSON POST (the push webhook's signature, docs/webhooks.md).
 */
export const ModerationRequestSchema = z.object({
  type: z.literal("message.moderate"),
  /** A fresh id per call (a retried send is shown again under a new id). */
  id: UuidSchema,
  at: IsoTimestampSchema,
  message: z.object({
    conversationId: UuidSchema,
    senderId: UserIdSchema,
    clientMessageId: UuidSchema,
    kind: MessageKindSchema,
    body: z.string(),
    replyToId: UuidSchema.optional(),
    attachments: z.array(AttachmentSchema).optional(),
  }),
});
export type ModerationRequest = z.infer<typeof ModerationRequestSchema>;

/** The moderation webhook's answer (protocol.md v1.1): `replace` comes with the new body. */
export const ModerationDecisionSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("allow") }),
  z.object({ action: z.literal("reject"), reason: z.string().max(500).optional() }),
  z.object({ action: z.literal("replace"), body: z.string() }),
]);
export type ModerationDecision = z.infer<typeof ModerationDecisionSchema>;

/** The events webhook's event types (protocol.md v1.1). */
export const WEBHOOK_EVENT_TYPES = [
  "message.created",
  "message.updated",
  "conversation.created",
  "member.added",
  "member.removed",
  "report.created",
  "user.banned",
] as const;
export const WebhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = z.infer<typeof WebhookEventTypeSchema>;

/**
 * An event as queued: `{ id, type, at, data }`. `id` is the same on every delivery of one
 * event (receivers dedupe on it). `data` is what the event is about, without message text:
 * the delivery reads the message as it is when the event is sent (below), so a deleted or
 * erased message is never sent with the text it had.
 */
export const QueuedEventSchema = z.object({
  id: UuidSchema,
  type: WebhookEventTypeSchema,
  at: IsoTimestampSchema,
  data: z.record(z.string(), z.unknown()),
});
export type QueuedEvent = z.infer<typeof QueuedEventSchema>;

/**
 * The events webhook's body (EVENTS_WEBHOOK_URL). For `message.created` and
 * `message.updated`, `data` is `{ message }`, the message as it is when the event is delivered
 * (a tombstone if it was deleted meanwhile); for the others, `data` is as queued:
 * `conversation.created` `{ conversationId, kind, createdBy }`; `member.added` and
 * `member.removed` `{ conversationId, userIds, by }`; `report.created` `{ reportId, messageId,
 * reporterId, reason }`; `user.banned` `{ userId, until, by }`.
 */
export const WebhookEventSchema = QueuedEventSchema;
export type WebhookEvent = z.infer<typeof WebhookEventSchema>;

/** `data` of the message events as the webhook receives it. */
export const MessageEventDataSchema = z.object({ message: MessageSchema });
