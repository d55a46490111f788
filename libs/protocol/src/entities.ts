import { z } from "zod";
import { LIMITS } from "./limits.js";
import { isWellFormed } from "./well-formed.js";

/** JWT `sub`: any string of 1..128 characters. */
/**
 * A user id (the JWT `sub`). Postgres cannot store NUL in text, nor a lone UTF-16 surrogate, so
 * both are refused here (VALIDATION, or AUTH_INVALID for a token) rather than failing a query.
 */
export const UserIdSchema = z
  .string()
  .min(1)
  .max(128)
  .refine((s) => !s.includes("\u0000"), "must not contain NUL characters")
  .refine((s) => isWellFormed(s), "must be well-formed Unicode (no lone surrogates)");
export const UuidSchema = z.uuid();
export const IsoTimestampSchema = z.iso.datetime({ offset: true });
/** A place in a conversation's gap-free sequence (0: before its first message), at most what a JS number holds exactly. */
export const SeqSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const MessageKindSchema = z.enum(["text", "image", "file", "audio", "video", "system"]);
export type MessageKind = z.infer<typeof MessageKindSchema>;

export const AttachmentSchema = z.object({
  url: z.url({ protocol: /^https$/ }).max(2_048),
  mime: z.string().regex(/^[\w.+-]+\/[\w.+-]+$/, "a MIME type such as image/png").max(255),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  name: z.string().min(1).max(255).refine((s) => isWellFormed(s), "must be well-formed Unicode").optional(),
});
export type Attachment = z.infer<typeof AttachmentSchema>;

/**
 * What a reaction may be: one emoji (a single grapheme cluster with a pictographic code point,
 * a flag or a keycap) or a custom `:shortcode:`. Anything else (words, several emoji, control
 * characters) is refused, so a reaction stays a small label every client can render.
 */
export const EmojiSchema = z
  .string()
  .min(1)
  .max(LIMITS.emojiChars)
  .refine(isReactionLabel, "must be one emoji or a :shortcode:");

const SHORTCODE = /^:[a-z0-9_+-]{1,30}:$/;
const PICTOGRAPHIC = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3/u;
// Made on first use, not at import: React Native's Hermes has no Intl.Segmenter, and the
// client SDK imports this catalog without ever checking an emoji.
let graphemes: Intl.Segmenter | undefined;

function isReactionLabel(s: string): boolean {
  if (SHORTCODE.test(s)) return true;
  if (!isWellFormed(s) || !PICTOGRAPHIC.test(s)) return false;
  const segmenter = (graphemes ??= new Intl.Segmenter(undefined, { granularity: "grapheme" }));
  let count = 0;
  for (const _ of segmenter.segment(s)) if (++count > 1) return false;
  return count === 1;
}

/**
 * The reactions on a message, one entry per emoji in the order each was first used, with the
 * users who reacted (in the order they did). Sent in `sync`, history, search and
 * `message:updated`; live changes arrive as `reaction` events.
 */
export const ReactionSummarySchema = z.object({ emoji: z.string(), userIds: z.array(UserIdSchema) });
export type ReactionSummary = z.infer<typeof ReactionSummarySchema>;

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
  /** Added in issue 3 (optional, so older readers are unaffected); absent when there are none. */
  reactions: z.array(ReactionSummarySchema).optional(),
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
  /**
   * v1.1: days after which this conversation's messages become tombstones; `null` (or absent)
   * follows MESSAGE_RETENTION_DAYS.
   */
  retentionDays: z.number().int().nullable().optional(),
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

/** A conversation's retention (v1.1): whole days, 1 to 100 years. */
export const RetentionDaysSchema = z.number().int().min(1).max(36_500);

export const TitleSchema = z
  .string()
  .trim()
  .min(1)
  .max(LIMITS.titleChars)
  .refine((s) => isWellFormed(s), "must be well-formed Unicode (no lone surrogates)");
