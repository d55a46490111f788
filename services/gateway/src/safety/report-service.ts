import { v7 as uuidv7 } from "uuid";
import {
  appendAudit,
  fileReport,
  getReport,
  listReports,
  messagesByIds,
  resolveReport,
  type Database,
  type Sql,
  type StoredReport,
} from "@parley/db";
import { LIMITS, ParleyError, type Message, type Report, type ReportAction, type ReportReason } from "@parley/protocol";
import type { Caller } from "../auth/roles.js";
import type { DbGuard } from "../guard-db.js";
import type { MessageChangeService } from "../messages/message-change-service.js";
import type { BanService } from "./ban-service.js";
import type { SafetyMetrics } from "./metrics.js";
import type { SafetyEvents } from "./safety-events.js";

export interface ReportServiceDeps {
  database: Database;
  dbGuard: DbGuard;
  metrics: Pick<SafetyMetrics, "reports">;
  events: Pick<SafetyEvents, "reportCreated">;
  /** A moderator's deletion: a tombstone for every member, announced as deletions are. */
  changes: Pick<MessageChangeService, "moderate">;
  bans: Pick<BanService, "ban">;
}

/**
 * Reports and the moderation queue (protocol.md, "Safety" and "Administration"). A report needs
 * a message the reporter can see (NOT_FOUND otherwise); one per (reporter, message): a second
 * answers the first one's id. Admins page the queue by status and resolve a report by
 * dismissing it, deleting the message, or banning its sender; each step is an audit line.
 */
export class ReportService {
  constructor(private readonly deps: ReportServiceDeps) {}

  async report(caller: Caller, input: { messageId: string; reason: ReportReason; note?: string | undefined }): Promise<{ reportId: string; created: boolean }> {
    const outcome = await this.deps.dbGuard.run(() =>
      this.deps.database.sql.begin(async (txRaw) => {
        const tx = txRaw as unknown as Sql;
        const filed = await fileReport(tx, { id: uuidv7(), messageId: input.messageId, reporterId: caller.userId, reason: input.reason, note: input.note ?? null });
        if (filed.status === "created") {
          await appendAudit(tx, {
            actorId: caller.userId,
            actorRole: caller.role,
            action: "message.report",
            targetKind: "message",
            targetId: input.messageId,
            details: { reportId: filed.report.id, reason: input.reason },
          });
        }
        return filed;
      }),
    );
    if (outcome.status === "not_found") throw new ParleyError("NOT_FOUND", "no such message");
    if (outcome.status === "created") {
      this.deps.metrics.reports.inc({ outcome: "created" });
      this.deps.events.reportCreated(toWire(outcome.report));
    }
    return { reportId: outcome.report.id, created: outcome.status === "created" };
  }

  async list(query: { status?: "open" | "resolved" | undefined; cursor?: string | undefined; limit?: number | undefined }): Promise<{ reports: Report[]; nextCursor: string | null }> {
    return this.deps.dbGuard.run(async () => {
      const sql = this.deps.database.sql;
      const page = await listReports(sql, { status: query.status ?? "open", after: query.cursor, limit: query.limit ?? LIMITS.auditDefaultLimit });
      const messages = await messagesByIds(sql, [...new Set(page.reports.map((r) => r.messageId))]);
      return { reports: page.reports.map((r) => toWire(r, messages.get(r.messageId))), nextCursor: page.nextCursor };
    });
  }

  /**
   * Resolves an open report. The action's effect comes first (a deletion or a ban that fails
   * leaves the report open, so the admin retries); resolving the same report again with the same
   * action answers it as it is, and with another action is a CONFLICT.
   */
  async resolve(admin: Caller, reportId: string, action: ReportAction): Promise<{ report: Report }> {
    const existing = await this.deps.dbGuard.run(() => getReport(this.deps.database.sql, reportId));
    if (!existing) throw new ParleyError("NOT_FOUND", "no such report");
    if (existing.status === "resolved") {
      if (existing.action !== action) throw new ParleyError("CONFLICT", `the report was already resolved (${existing.action ?? "no action"})`);
      return { report: await this.withMessage(existing) };
    }
    if (action === "delete_message") await this.deps.changes.moderate(admin, existing.messageId);
    if (action === "ban_user") await this.deps.bans.ban(admin, existing.reportedUserId, { reason: `report ${reportId}` });
    const result = await this.deps.dbGuard.run(() =>
      this.deps.database.sql.begin(async (txRaw) => {
        const tx = txRaw as unknown as Sql;
        const resolved = await resolveReport(tx, { id: reportId, action, resolvedBy: admin.userId });
        if (resolved?.resolved) {
          await appendAudit(tx, { actorId: admin.userId, actorRole: admin.role, action: "report.resolve", targetKind: "report", targetId: reportId, details: { action, messageId: existing.messageId } });
        }
        return resolved;
      }),
    );
    if (!result) throw new ParleyError("NOT_FOUND", "no such report");
    if (result.resolved) this.deps.metrics.reports.inc({ outcome: action });
    else if (result.report.action !== action) throw new ParleyError("CONFLICT", `the report was already resolved (${result.report.action ?? "no action"})`);
    return { report: await this.withMessage(result.report) };
  }

  private async withMessage(report: StoredReport): Promise<Report> {
    const messages = await this.deps.dbGuard.run(() => messagesByIds(this.deps.database.sql, [report.messageId]));
    return toWire(report, messages.get(report.messageId));
  }
}

/** The stored row in the contract's shape: absent fields rather than nulls. */
function toWire(r: StoredReport, message?: Message): Report {
  return {
    id: r.id,
    messageId: r.messageId,
    conversationId: r.conversationId,
    reporterId: r.reporterId,
    reportedUserId: r.reportedUserId,
    reason: r.reason,
    ...(r.note !== null ? { note: r.note } : {}),
    status: r.status,
    ...(r.action !== null ? { action: r.action } : {}),
    ...(r.resolvedBy !== null ? { resolvedBy: r.resolvedBy } : {}),
    ...(r.resolvedAt !== null ? { resolvedAt: r.resolvedAt } : {}),
    createdAt: r.createdAt,
    ...(message ? { message } : {}),
  };
}
