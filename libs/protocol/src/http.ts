import { z } from "zod";
import { LIMITS } from "./limits.js";
import { ErrorBodySchema } from "./errors.js";
import {
  ConversationKindSchema,
  ConversationSchema,
  ConversationSummarySchema,
  MessageKindSchema,
  MessageSchema,
  RetentionDaysSchema,
  IsoTimestampSchema,
  SeqSchema,
  TitleSchema,
  UserIdSchema,
  UuidSchema,
} from "./entities.js";
import { ClientEvents, SendMessageSchema } from "./events.js";
import { AdminJobSchema } from "./data-lifecycle.js";
import { isWellFormed } from "./well-formed.js";
import { AuditEntrySchema } from "./audit.js";
import { BanBodySchema, ReportActionSchema, ReportBodySchema, ReportSchema, ReportStatusSchema } from "./safety.js";

/** Query strings arrive as text: coerce, then apply the same bounds as the socket events. */
const QuerySeq = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * The HTTP catalog: one entry per route of the contract. Fastify handlers are typed from it
 * and validate with it; `status` is the success status.
 */
export const HttpRoutes = {
  createConversation: {
    method: "POST",
    url: "/v1/conversations",
    body: z.object({
      kind: ConversationKindSchema,
      memberIds: z.array(UserIdSchema).max(LIMITS.membersPerRequest),
      title: TitleSchema.optional(),
    }),
    reply: z.object({ conversation: ConversationSchema }),
    status: 201,
  },
  renameConversation: {
    method: "PATCH",
    url: "/v1/conversations/:id",
    params: z.object({ id: UuidSchema }),
    /**
     * v1.1 adds `retentionDays` (owner or admin; `null`: back to MESSAGE_RETENTION_DAYS). Either
     * field may come alone; a body with neither changes nothing and is refused.
     */
    body: z
      .object({ title: TitleSchema.optional(), retentionDays: RetentionDaysSchema.nullable().optional() })
      .refine((b) => b.title !== undefined || b.retentionDays !== undefined, "title or retentionDays is required"),
    reply: z.object({ conversation: ConversationSchema }),
    status: 200,
  },
  listConversations: {
    method: "GET",
    url: "/v1/conversations",
    query: z.object({
      cursor: z.string().max(512).optional(),
      limit: z.coerce.number().int().min(1).max(200).optional(),
    }),
    reply: z.object({ conversations: z.array(ConversationSummarySchema), nextCursor: z.string().nullable() }),
    status: 200,
  },
  getConversation: {
    method: "GET",
    url: "/v1/conversations/:id",
    params: z.object({ id: UuidSchema }),
    reply: z.object({ conversation: ConversationSchema }),
    status: 200,
  },
  addMembers: {
    method: "POST",
    url: "/v1/conversations/:id/members",
    params: z.object({ id: UuidSchema }),
    body: z.object({ userIds: z.array(UserIdSchema).min(1).max(LIMITS.membersPerRequest) }),
    reply: z.object({ conversation: ConversationSchema }),
    status: 200,
  },
  removeMember: {
    method: "DELETE",
    url: "/v1/conversations/:id/members/:userId",
    params: z.object({ id: UuidSchema, userId: UserIdSchema }),
    status: 204,
  },
  listMessages: {
    method: "GET",
    url: "/v1/conversations/:id/messages",
    params: z.object({ id: UuidSchema }),
    query: z.object({
      beforeSeq: QuerySeq.optional(),
      afterSeq: QuerySeq.optional(),
      limit: z.coerce.number().int().min(1).max(LIMITS.historyMaxLimit).optional(),
    }),
    reply: ClientEvents["messages:history"].ack,
    status: 200,
  },
  sendMessage: {
    method: "POST",
    url: "/v1/conversations/:id/messages",
    params: z.object({ id: UuidSchema }),
    // `kind: "system"` is accepted here for a token whose parley_role is "service" (v1.1);
    // anyone else sending it is refused FORBIDDEN by the send service.
    body: SendMessageSchema.omit({ conversationId: true }).extend({ conversationId: UuidSchema.optional(), kind: MessageKindSchema.optional() }),
    reply: ClientEvents["message:send"].ack,
    status: 201,
  },
  markRead: {
    method: "POST",
    url: "/v1/conversations/:id/read",
    params: z.object({ id: UuidSchema }),
    body: z.object({ seq: SeqSchema }),
    reply: ClientEvents["message:read"].ack,
    status: 200,
  },
  search: {
    method: "GET",
    url: "/v1/search",
    query: z.object({
      q: z
        .string()
        .max(LIMITS.searchQueryChars)
        .refine((s) => s.trim().length > 0, "must not be empty")
        .refine((s) => !s.includes("\u0000"), "must not contain NUL characters")
        .refine((s) => isWellFormed(s), "must be well-formed Unicode (no lone surrogates)"),
      conversationId: UuidSchema.optional(),
      limit: z.coerce.number().int().min(1).max(LIMITS.searchMaxLimit).optional(),
    }),
    reply: z.object({ messages: z.array(MessageSchema) }),
    status: 200,
  },
  /** v1.1: the caller's data as NDJSON lines (export.ts), streamed. */
  exportMe: {
    method: "GET",
    url: "/v1/me/export",
    status: 200,
  },
  /** v1.1, admin: as exportMe, for that user. */
  exportUser: {
    method: "GET",
    url: "/v1/admin/users/:userId/export",
    params: z.object({ userId: UserIdSchema }),
    status: 200,
  },
  /** v1.1, admin: erasure, as a job (`GET /v1/admin/jobs/:id`). */
  eraseUser: {
    method: "DELETE",
    url: "/v1/admin/users/:userId",
    params: z.object({ userId: UserIdSchema }),
    reply: z.object({ jobId: z.string() }),
    status: 202,
  },
  /** v1.1, admin: a background job's state. */
  getJob: {
    method: "GET",
    url: "/v1/admin/jobs/:id",
    params: z.object({ id: z.string().min(1).max(200) }),
    reply: z.object({ job: AdminJobSchema }),
    status: 200,
  },
  /** v1.1 safety: block, unblock, and whom the caller blocks. */
  putBlock: { method: "PUT", url: "/v1/blocks/:userId", params: z.object({ userId: UserIdSchema }), status: 204 },
  deleteBlock: { method: "DELETE", url: "/v1/blocks/:userId", params: z.object({ userId: UserIdSchema }), status: 204 },
  listBlocks: { method: "GET", url: "/v1/blocks", reply: z.object({ userIds: z.array(UserIdSchema) }), status: 200 },
  /** v1.1: mute and unmute (the socket's conversation:mute / unmute over HTTP). */
  muteConversation: {
    method: "PUT",
    url: "/v1/conversations/:id/mute",
    params: z.object({ id: UuidSchema }),
    body: z.object({ until: IsoTimestampSchema.optional() }),
    status: 204,
  },
  unmuteConversation: { method: "DELETE", url: "/v1/conversations/:id/mute", params: z.object({ id: UuidSchema }), status: 204 },
  reportMessage: {
    method: "POST",
    url: "/v1/messages/:id/report",
    params: z.object({ id: UuidSchema }),
    body: ReportBodySchema,
    reply: z.object({ reportId: UuidSchema }),
    status: 201,
  },
  /** v1.1, admins only: the moderation queue by status, oldest first. */
  adminReports: {
    method: "GET",
    url: "/v1/admin/reports",
    query: z.object({
      status: ReportStatusSchema.optional(),
      cursor: UuidSchema.optional(),
      limit: z.coerce.number().int().min(1).max(LIMITS.auditMaxLimit).optional(),
    }),
    reply: z.object({ reports: z.array(ReportSchema), nextCursor: z.string().nullable() }),
    status: 200,
  },
  adminResolveReport: {
    method: "POST",
    url: "/v1/admin/reports/:id/resolve",
    params: z.object({ id: UuidSchema }),
    body: z.object({ action: ReportActionSchema }),
    reply: z.object({ report: ReportSchema }),
    status: 200,
  },
  adminBan: {
    method: "PUT",
    url: "/v1/admin/users/:userId/ban",
    params: z.object({ userId: UserIdSchema }),
    body: BanBodySchema,
    status: 204,
  },
  adminUnban: { method: "DELETE", url: "/v1/admin/users/:userId/ban", params: z.object({ userId: UserIdSchema }), status: 204 },
  /** v1.1, admins only: the audit log, newest first; `cursor` is the previous page's `nextCursor`. */
  adminAudit: {
    method: "GET",
    url: "/v1/admin/audit",
    query: z.object({
      cursor: z.string().regex(/^[1-9][0-9]{0,17}$/, "must be a cursor from a previous page").optional(),
      limit: z.coerce.number().int().min(1).max(LIMITS.auditMaxLimit).optional(),
    }),
    reply: z.object({ entries: z.array(AuditEntrySchema), nextCursor: z.string().nullable() }),
    status: 200,
  },
} as const;

export const HttpErrorSchema = z.object({ error: ErrorBodySchema.omit({ retryAfterMs: true }) });
export type HttpError = z.infer<typeof HttpErrorSchema>;
