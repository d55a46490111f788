import type { AuditAction, AuditEntry, AuditTargetKind, Role } from "@parley/protocol";
import type { Sql } from "./client.js";
import { toIso } from "./timestamps.js";

/** One audit line to append: who did what, on what; `at` is the database's now(). */
export interface AuditRecord {
  actorId: string;
  actorRole: Role;
  action: AuditAction;
  targetKind: AuditTargetKind;
  targetId: string;
  /** Whatever else explains the action (a reason, an end time, a report's action); JSON. */
  details?: Record<string, unknown>;
}

/**
 * Appends one line to the audit log. Takes a `Sql` so a caller can pass its transaction and
 * record the action in the same commit as the change it describes.
 */
export async function appendAudit(sql: Sql, record: AuditRecord): Promise<void> {
  await sql`
    insert into audit_log (actor_id, actor_role, action, target_kind, target_id, details)
    values (${record.actorId}, ${record.actorRole}, ${record.action}, ${record.targetKind}, ${record.targetId},
            ${JSON.stringify(record.details ?? {})}::jsonb)`;
}

interface AuditRow {
  id: string;
  at: Date | string;
  actor_id: string;
  actor_role: string;
  action: string;
  target_kind: string;
  target_id: string;
  details: Record<string, unknown>;
}

/**
 * A page of the audit log, newest first. `before` is the last id of the previous page (the
 * cursor); the primary key answers it with one index range, whatever the log's size.
 */
export async function listAudit(
  sql: Sql,
  opts: { before?: string | undefined; limit: number },
): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
  const rows = await sql<AuditRow[]>`
    select id::text as id, at, actor_id, actor_role, action, target_kind, target_id, details
    from audit_log
    where ${opts.before === undefined ? sql`true` : sql`id < ${opts.before}::bigint`}
    order by id desc
    limit ${opts.limit + 1}`;
  const page = rows.slice(0, opts.limit);
  return {
    entries: page.map((r) => ({
      id: r.id,
      at: toIso(r.at),
      actorId: r.actor_id,
      actorRole: r.actor_role as AuditEntry["actorRole"],
      action: r.action as AuditEntry["action"],
      targetKind: r.target_kind as AuditEntry["targetKind"],
      targetId: r.target_id,
      details: r.details,
    })),
    nextCursor: rows.length > opts.limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}
