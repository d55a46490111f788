import type { Message } from "@parley/protocol";
import type { Sql } from "./client.js";
import { messageColumns, toMessage, type MessageRow } from "./message-row.js";
import { toIso } from "./timestamps.js";

export type ReportReason = "spam" | "abuse" | "harassment" | "illegal" | "other";
export type ReportStatus = "open" | "resolved";
export type ReportAction = "dismiss" | "delete_message" | "ban_user";

export interface StoredReport {
  id: string;
  messageId: string;
  conversationId: string;
  reporterId: string;
  reportedUserId: string;
  reason: ReportReason;
  note: string | null;
  status: ReportStatus;
  action: ReportAction | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
  createdAt: string;
}

interface ReportRow {
  id: string;
  message_id: string;
  conversation_id: string;
  reporter_id: string;
  reported_user_id: string;
  reason: ReportReason;
  note: string | null;
  status: ReportStatus;
  action: ReportAction | null;
  resolved_by: string | null;
  resolved_at: Date | string | null;
  created_at: Date | string;
}

const toReport = (r: ReportRow): StoredReport => ({
  id: r.id,
  messageId: r.message_id,
  conversationId: r.conversation_id,
  reporterId: r.reporter_id,
  reportedUserId: r.reported_user_id,
  reason: r.reason,
  note: r.note,
  status: r.status,
  action: r.action,
  resolvedBy: r.resolved_by,
  resolvedAt: r.resolved_at === null ? null : toIso(r.resolved_at),
  createdAt: toIso(r.created_at),
});

export type ReportOutcome = { status: "created" | "existing"; report: StoredReport } | { status: "not_found" };

/**
 * Files a report of a message the reporter can see: it exists and the reporter is a member of
 * its conversation (`not_found` otherwise, alike, so a message id reveals nothing). One report
 * per (reporter, message): a second answers the first (`existing`), decided by the unique index
 * even when two arrive at once.
 */
export async function fileReport(
  sql: Sql,
  input: { id: string; messageId: string; reporterId: string; reason: ReportReason; note: string | null },
): Promise<ReportOutcome> {
  const [visible] = await sql<{ conversation_id: string; sender_id: string }[]>`
    select m.conversation_id, m.sender_id from messages m
    join members mb on mb.conversation_id = m.conversation_id and mb.user_id = ${input.reporterId}
    where m.id = ${input.messageId}`;
  if (!visible) return { status: "not_found" };
  const [created] = await sql<ReportRow[]>`
    insert into reports (id, message_id, conversation_id, reporter_id, reported_user_id, reason, note)
    values (${input.id}, ${input.messageId}, ${visible.conversation_id}, ${input.reporterId}, ${visible.sender_id}, ${input.reason}, ${input.note})
    on conflict (reporter_id, message_id) do nothing
    returning *`;
  if (created) return { status: "created", report: toReport(created) };
  const [existing] = await sql<ReportRow[]>`
    select * from reports where reporter_id = ${input.reporterId} and message_id = ${input.messageId}`;
  return existing ? { status: "existing", report: toReport(existing) } : { status: "not_found" };
}

/** A page of the queue by status, oldest first (ids are time-ordered v7 UUIDs); `after` is the last id of the previous page. */
export async function listReports(
  sql: Sql,
  opts: { status: ReportStatus; after?: string | undefined; limit: number },
): Promise<{ reports: StoredReport[]; nextCursor: string | null }> {
  const rows = await sql<ReportRow[]>`
    select * from reports
    where status = ${opts.status} ${opts.after === undefined ? sql`` : sql`and id > ${opts.after}::uuid`}
    order by id
    limit ${opts.limit + 1}`;
  const page = rows.slice(0, opts.limit).map(toReport);
  return { reports: page, nextCursor: rows.length > opts.limit ? (page[page.length - 1]?.id ?? null) : null };
}

export async function getReport(sql: Sql, id: string): Promise<StoredReport | undefined> {
  const [row] = await sql<ReportRow[]>`select * from reports where id = ${id}`;
  return row ? toReport(row) : undefined;
}

/**
 * Marks an open report resolved with its action. Returns the report as it now is, and whether
 * this call resolved it (false: it was resolved before, its action unchanged).
 */
export async function resolveReport(
  sql: Sql,
  input: { id: string; action: ReportAction; resolvedBy: string },
): Promise<{ report: StoredReport; resolved: boolean } | undefined> {
  const [row] = await sql<ReportRow[]>`
    update reports set status = 'resolved', action = ${input.action}, resolved_by = ${input.resolvedBy}, resolved_at = now()
    where id = ${input.id} and status = 'open'
    returning *`;
  if (row) return { report: toReport(row), resolved: true };
  const existing = await getReport(sql, input.id);
  return existing ? { report: existing, resolved: false } : undefined;
}

/** The reported messages as they are now, by id (the moderation queue shows them beside their reports). */
export async function messagesByIds(sql: Sql, ids: readonly string[]): Promise<Map<string, Message>> {
  if (ids.length === 0) return new Map();
  const rows = await sql<MessageRow[]>`
    select ${messageColumns(sql)}
    from messages m left join users u on u.id = m.sender_id
    where m.id = any(${ids as string[]}::uuid[])`;
  return new Map(rows.map((r) => [r.id, toMessage(r)]));
}
