import { z } from "zod";
import { IsoTimestampSchema, MemberRoleSchema, MessageSchema, UserIdSchema, UuidSchema } from "./entities.js";

/**
 * A background job as `GET /v1/admin/jobs/:id` answers it (v1.1). `kind` names the work
 * (`erasure`); `state` is the queue's (waiting, active, completed, failed, delayed);
 * `progress` is the job's own report, e.g. `{ phase, messages }` for an erasure.
 */
export const AdminJobSchema = z.object({
  id: z.string(),
  kind: z.string(),
  state: z.string(),
  progress: z.record(z.string(), z.unknown()),
});
export type AdminJob = z.infer<typeof AdminJobSchema>;

/**
 * One line of `GET /v1/me/export` (NDJSON, one JSON object per line), in this order: the
 * profile, the memberships, the messages the user sent (tombstones included, as they are
 * stored), the user's reactions, whom the user blocks, the reports the user filed, and a last
 * `end` line with the counts per type. A stream that stops without the `end` line was cut:
 * ask again.
 */
export const ExportLineSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("profile"), user: z.object({ id: UserIdSchema, name: z.string(), createdAt: IsoTimestampSchema }) }),
  z.object({ type: z.literal("membership"), conversationId: UuidSchema, role: MemberRoleSchema, joinedAt: IsoTimestampSchema }),
  z.object({ type: z.literal("message"), message: MessageSchema }),
  z.object({ type: z.literal("reaction"), messageId: UuidSchema, emoji: z.string(), createdAt: IsoTimestampSchema }),
  z.object({ type: z.literal("block"), userId: UserIdSchema, createdAt: IsoTimestampSchema }),
  z.object({
    type: z.literal("report"),
    reportId: z.string(),
    messageId: UuidSchema,
    reason: z.string(),
    note: z.string().nullable().optional(),
    createdAt: IsoTimestampSchema,
  }),
  z.object({ type: z.literal("end"), counts: z.record(z.string(), z.number().int().nonnegative()) }),
]);
export type ExportLine = z.infer<typeof ExportLineSchema>;
