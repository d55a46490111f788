import { z } from "zod";
import { LIMITS } from "./limits.js";
import type { ErrorBodySchema } from "./errors.js";
import {
  AttachmentSchema,
  ConversationSchema,
  EmojiSchema,
  IsoTimestampSchema,
  MessageKindSchema,
  MessageSchema,
  SeqSchema,
  UserIdSchema,
  UuidSchema,
} from "./entities.js";
import { isWellFormed } from "./well-formed.js";
import { BlockPayloadSchema, BlocksChangedSchema, MutePayloadSchema, ReportPayloadSchema, UnmutePayloadSchema } from "./safety.js";

/** Message text: Postgres cannot store NUL in text, so it is refused here rather than failing the commit. */
const BodySchema = z
  .string()
  .max(LIMITS.messageBodyChars)
  .refine((s) => !s.includes("\u0000"), "must not contain NUL characters")
  // A lone UTF-16 surrogate (an emoji cut in half) is not valid in Postgres' JSON or text.
  .refine((s) => isWellFormed(s), "must be well-formed Unicode (no lone surrogates)");
const EmptySchema = z.object({});

export const SendMessageSchema = z.object({
  conversationId: UuidSchema,
  clientMessageId: UuidSchema,
  body: BodySchema,
  kind: MessageKindSchema.exclude(["system"]).optional(),
  replyToId: UuidSchema.optional(),
  attachments: z.array(AttachmentSchema).max(LIMITS.attachmentsPerMessage).optional(),
});
export type SendMessage = z.infer<typeof SendMessageSchema>;

export const SyncConversationSchema = z.object({
  id: UuidSchema,
  lastSeq: SeqSchema,
  lastReadSeq: SeqSchema,
  unreadCount: SeqSchema,
  messages: z.array(MessageSchema),
  hasMore: z.boolean(),
});
export type SyncConversation = z.infer<typeof SyncConversationSchema>;

export const HistoryQuerySchema = z.object({
  conversationId: UuidSchema,
  beforeSeq: SeqSchema.optional(),
  afterSeq: SeqSchema.optional(),
  limit: z.number().int().min(1).max(LIMITS.historyMaxLimit).optional(),
});

const WatermarkSchema = z.object({ conversationId: UuidSchema, seq: SeqSchema });
const ReactionSchema = z.object({ messageId: UuidSchema, emoji: EmojiSchema });

/**
 * The client → server catalog: one entry per event with its payload and its ok-ack.
 * The Socket.IO types, the gateway's validation and the SDK all derive from this object.
 */
export const ClientEvents = {
  "message:send": {
    payload: SendMessageSchema,
    ack: z.object({ message: MessageSchema, duplicate: z.boolean() }),
  },
  sync: {
    payload: z.object({
      cursors: z.record(UuidSchema, SeqSchema).optional(),
      limit: z.number().int().min(1).max(LIMITS.syncMaxLimit).optional(),
    }),
    ack: z.object({ conversations: z.array(SyncConversationSchema) }),
  },
  "messages:history": {
    payload: HistoryQuerySchema,
    ack: z.object({ messages: z.array(MessageSchema), hasMore: z.boolean() }),
  },
  "typing:start": { payload: z.object({ conversationId: UuidSchema }), ack: EmptySchema },
  "typing:stop": { payload: z.object({ conversationId: UuidSchema }), ack: EmptySchema },
  "message:delivered": { payload: WatermarkSchema, ack: EmptySchema },
  "message:read": {
    payload: WatermarkSchema,
    ack: z.object({ lastReadSeq: SeqSchema, unreadCount: SeqSchema }),
  },
  "presence:query": {
    payload: z.object({ userIds: z.array(UserIdSchema).min(1).max(LIMITS.membersPerRequest) }),
    ack: z.object({
      presence: z.array(
        z.object({
          userId: UserIdSchema,
          status: z.enum(["online", "offline"]),
          lastSeenAt: IsoTimestampSchema.optional(),
        }),
      ),
    }),
  },
  "message:edit": {
    payload: z.object({ messageId: UuidSchema, body: BodySchema.refine((s) => s.trim().length > 0, "must not be empty") }),
    ack: z.object({ message: MessageSchema }),
  },
  "message:delete": { payload: z.object({ messageId: UuidSchema }), ack: z.object({ message: MessageSchema }) },
  "reaction:add": { payload: ReactionSchema, ack: EmptySchema },
  "reaction:remove": { payload: ReactionSchema, ack: EmptySchema },
  "auth:refresh": {
    payload: z.object({ token: z.string().min(1).max(8_192) }),
    ack: z.object({ exp: z.number().int().positive() }),
  },
  // v1.1 safety (protocol.md, "Safety").
  "user:block": { payload: BlockPayloadSchema, ack: EmptySchema },
  "user:unblock": { payload: BlockPayloadSchema, ack: EmptySchema },
  "conversation:mute": { payload: MutePayloadSchema, ack: EmptySchema },
  "conversation:unmute": { payload: UnmutePayloadSchema, ack: EmptySchema },
  "message:report": { payload: ReportPayloadSchema, ack: z.object({ reportId: UuidSchema }) },
} as const satisfies Record<string, { payload: z.ZodType; ack: z.ZodType }>;

export type ClientEventName = keyof typeof ClientEvents;
export type ClientPayload<E extends ClientEventName> = z.infer<(typeof ClientEvents)[E]["payload"]>;
export type ClientAckOk<E extends ClientEventName> = { ok: true } & z.infer<(typeof ClientEvents)[E]["ack"]>;
export type AckError = { ok: false; error: z.infer<typeof ErrorBodySchema> };
export type ClientAck<E extends ClientEventName> = ClientAckOk<E> | AckError;

export const PresenceEventSchema = z.object({
  userId: UserIdSchema,
  status: z.enum(["online", "offline"]),
  lastSeenAt: IsoTimestampSchema.optional(),
});

/** The server → client catalog. */
export const ServerEvents = {
  /** `blockedUserIds` (v1.1): whom this user blocks, so clients can hide those users' messages. */
  "session:ready": z.object({ userId: UserIdSchema, serverTime: IsoTimestampSchema, blockedUserIds: z.array(UserIdSchema).optional() }),
  /** v1.1: the user's block list changed (on any of their devices); the whole new list. */
  "blocks:changed": BlocksChangedSchema,
  "session:expired": EmptySchema,
  /**
   * The server may have missed events for this socket (its pod's Redis subscription was
   * interrupted): the client runs `sync` from its cursors. `reason` says why, for logs
   * (`redis-reconnected`; other values may be added).
   */
  "session:resync": z.object({ reason: z.string().min(1).max(200) }),
  "message:new": MessageSchema,
  "message:updated": MessageSchema,
  reaction: z.object({
    conversationId: UuidSchema,
    messageId: UuidSchema,
    userId: UserIdSchema,
    emoji: z.string(),
    op: z.enum(["add", "remove"]),
  }),
  typing: z.object({
    conversationId: UuidSchema,
    userId: UserIdSchema,
    userName: z.string(),
    isTyping: z.boolean(),
  }),
  receipt: z.object({
    conversationId: UuidSchema,
    userId: UserIdSchema,
    kind: z.enum(["delivered", "read"]),
    seq: SeqSchema,
    at: IsoTimestampSchema,
  }),
  unread: z.object({ conversationId: UuidSchema, lastReadSeq: SeqSchema, unreadCount: SeqSchema }),
  presence: PresenceEventSchema,
  "conversation:updated": ConversationSchema,
} as const satisfies Record<string, z.ZodType>;

export type ServerEventName = keyof typeof ServerEvents;
export type ServerPayload<E extends ServerEventName> = z.infer<(typeof ServerEvents)[E]>;

/** Socket.IO's `ClientToServerEvents`, derived from the catalog. */
export type ClientToServerEvents = {
  [E in ClientEventName]: (payload: ClientPayload<E>, ack: (answer: ClientAck<E>) => void) => void;
};
/** Socket.IO's `ServerToClientEvents`, derived from the catalog. */
export type ServerToClientEvents = {
  [E in ServerEventName]: (payload: ServerPayload<E>) => void;
};
