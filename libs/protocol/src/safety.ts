import { z } from "zod";
import { LIMITS } from "./limits.js";
import { IsoTimestampSchema, MessageSchema, UserIdSchema, UuidSchema } from "./entities.js";
import { isWellFormed } from "./well-formed.js";

/**
 * Safety and moderation (protocol.md, "Additions in v1.1": Safety, Administration). One zod
 * schema per wire shape; events.ts and http.ts put them in the catalogs.
 */

export const BlockPayloadSchema = z.object({ userId: UserIdSchema });

/** An ISO time in the future is not checked here: a mute or ban that already ended is simply over. */
export const MutePayloadSchema = z.object({ conversationId: UuidSchema, until: IsoTimestampSchema.optional() });
export const UnmutePayloadSchema = z.object({ conversationId: UuidSchema });

export const ReportReasonSchema = z.enum(["spam", "abuse", "harassment", "illegal", "other"]);
export type ReportReason = z.infer<typeof ReportReasonSchema>;

const NoteSchema = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes("\u0000"), "must not contain NUL characters")
    .refine((s) => isWellFormed(s), "must be well-formed Unicode (no lone surrogates)");

export const ReportBodySchema = z.object({ reason: ReportReasonSchema, note: NoteSchema(LIMITS.reportNoteChars).optional() });
export const ReportPayloadSchema = ReportBodySchema.extend({ messageId: UuidSchema });

export const ReportStatusSchema = z.enum(["open", "resolved"]);
export const ReportActionSchema = z.enum(["dismiss", "delete_message", "ban_user"]);
export type ReportAction = z.infer<typeof ReportActionSchema>;

/**
 * A report in the moderation queue. `message` is the reported message as it is now (a
 * tombstone once deleted; absent if the row is gone), so a moderator judges what was said.
 */
export const ReportSchema = z.object({
  id: UuidSchema,
  messageId: UuidSchema,
  conversationId: UuidSchema,
  reporterId: UserIdSchema,
  reportedUserId: UserIdSchema,
  reason: ReportReasonSchema,
  note: z.string().optional(),
  status: ReportStatusSchema,
  action: ReportActionSchema.optional(),
  resolvedBy: UserIdSchema.optional(),
  resolvedAt: IsoTimestampSchema.optional(),
  createdAt: IsoTimestampSchema,
  message: MessageSchema.optional(),
});
export type Report = z.infer<typeof ReportSchema>;

export const BanBodySchema = z.object({
  until: IsoTimestampSchema.optional(),
  reason: NoteSchema(LIMITS.banReasonChars).optional(),
});

/** `blocks:changed`: the blocker's devices hear their new list after a block or unblock on any of them. */
export const BlocksChangedSchema = z.object({ userIds: z.array(UserIdSchema) });
