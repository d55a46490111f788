import { z } from "zod";
import { IsoTimestampSchema, UserIdSchema } from "./entities.js";
import { RoleSchema } from "./roles.js";

/**
 * What the audit log records (protocol.md, "Additions in v1.1": every safety and
 * administration action is a line in an audit log). One name per action, `<target>.<verb>`.
 */
export const AuditActionSchema = z.enum([
  "user.block",
  "user.unblock",
  "message.report",
  "report.resolve",
  "user.ban",
  "user.unban",
  "message.delete",
  "message.system_send",
  "user.export",
  "user.erase",
  "conversation.retention",
]);
export type AuditAction = z.infer<typeof AuditActionSchema>;

/** What an action was done to. */
export const AuditTargetKindSchema = z.enum(["user", "message", "report", "conversation", "job"]);
export type AuditTargetKind = z.infer<typeof AuditTargetKindSchema>;

/** One line of the audit log: who (actorId, actorRole), what (action), when (at), on what (target). */
export const AuditEntrySchema = z.object({
  id: z.string(),
  at: IsoTimestampSchema,
  actorId: UserIdSchema,
  actorRole: RoleSchema,
  action: AuditActionSchema,
  targetKind: AuditTargetKindSchema,
  targetId: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;
