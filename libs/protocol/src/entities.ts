import { z } from "zod";
import { LIMITS } from "./limits.js";

/** JWT `sub`: any string of 1..128 characters. */
export const UserIdSchema = z.string().min(1).max(128);
export const UuidSchema = z.uuid();
export const IsoTimestampSchema = z.iso.datetime({ offset: true });

export const MessageKindSchema = z.enum(["text", "image", "file", "audio", "video", "system"]);
export type MessageKind = z.infer<typeof MessageKindSchema>;

export const AttachmentSchema = z.object({
  url: z.url({ protocol: /^https$/ }).max(2_048),
  mime: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, "a MIME type such as image/png").max(255),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  name: z.string().min(1).max(255).refine((s) => s.isWellFormed(), "must be well-formed Unicode").optional(),
});
export type Attachment = z.infer<typeof AttachmentSchema>;

export const MessageSchema = z.object({
  id: UuidSchema,
  conversationId: UuidSchema,
  seq: z.number().int().positive(),
  senderId: UserIdSchema,
  senderName: z.string(),
  clientMessageId: UuidSchema,
  kind: MessageKindSchema,
  body: z.string().nullable(),
  replyToId: UuidSchema.optional(),
  attachments: z.array(AttachmentSchema).optional(),
  createdAt: IsoTimestampSchema,
  editedAt: IsoTimestampSchema.optional(),
  deletedAt: IsoTimestampSchema.optional(),
});
export type Message = z.infer<typeof MessageSchema>;

export const ConversationKindSchema = z.enum(["direct", "group", "space"]);
export type ConversationKind = z.infer<typeof ConversationKindSchema>;
export const MemberRoleSchema = z.enum(["owner", "admin", "member"]);
export type MemberRole = z.infer<typeof MemberRoleSchema>;

export const MemberSchema = z.object({
  userId: UserIdSchema,
  displayName: z.string(),
  role: MemberRoleSchema,
  joinedAt: IsoTimestampSchema,
  deliveredSeq: z.number().int().nonnegative(),
  readSeq: z.number().int().nonnegative(),
});
export type Member = z.infer<typeof MemberSchema>;

export const ConversationSchema = z.object({
  id: UuidSchema,
  kind: ConversationKindSchema,
  title: z.string().nullable(),
  createdBy: UserIdSchema,
  createdAt: IsoTimestampSchema,
  lastSeq: z.number().int().nonnegative(),
  /** Present on `GET /v1/conversations/:id` and `conversation:updated`. */
  members: z.array(MemberSchema).optional(),
});
export type Conversation = z.infer<typeof ConversationSchema>;

/** A row of `GET /v1/conversations`: the conversation with the caller's read state. */
export const ConversationSummarySchema = ConversationSchema.extend({
  lastReadSeq: z.number().int().nonnegative(),
  unreadCount: z.number().int().nonnegative(),
  lastMessage: MessageSchema.nullable(),
});
export type ConversationSummary = z.infer<typeof ConversationSummarySchema>;

export const TitleSchema = z
  .string()
  .trim()
  .min(1)
  .max(LIMITS.titleChars)
  .refine((s) => s.isWellFormed(), "must be well-formed Unicode (no lone surrogates)");
