import type { FastifyInstance, FastifyRequest } from "fastify";
import { HttpRoutes, LIMITS, ParleyError, parseOrThrow } from "@parley/protocol";
import { listAudit, type Database } from "@parley/db";
import type { Caller } from "../auth/roles.js";
import type { DbGuard } from "../guard-db.js";
import type { BanService } from "../safety/ban-service.js";
import type { ReportService } from "../safety/report-service.js";

export interface AdminRouteDeps {
  database: Pick<Database, "sql">;
  reports: Pick<ReportService, "list" | "resolve">;
  bans: Pick<BanService, "ban" | "unban">;
  dbGuard: DbGuard;
}

function adminOf(req: FastifyRequest): Caller {
  // The onRequest hook (routes.ts) let only admins this far; this keeps the type honest.
  if (!req.user || req.user.role !== "admin") throw new ParleyError("FORBIDDEN", "this route needs a token whose parley_role is \"admin\"");
  return req.user;
}

/**
 * The administration routes (protocol.md, "Administration"). Who may call them is decided
 * once, for every `/v1/admin/*` path, by the onRequest hook in routes.ts (auth/roles.ts):
 * a handler here only runs for an admin.
 */
export async function registerAdminRoutes(app: FastifyInstance, deps: AdminRouteDeps): Promise<void> {
  const r = HttpRoutes;

  app.get(r.adminReports.url, async (req) => {
    adminOf(req);
    return deps.reports.list(parseOrThrow(r.adminReports.query, req.query));
  });

  app.post(r.adminResolveReport.url, async (req) => {
    const { id } = parseOrThrow(r.adminResolveReport.params, req.params);
    const { action } = parseOrThrow(r.adminResolveReport.body, req.body);
    return deps.reports.resolve(adminOf(req), id, action);
  });

  app.put(r.adminBan.url, async (req, reply) => {
    const { userId } = parseOrThrow(r.adminBan.params, req.params);
    const body = parseOrThrow(r.adminBan.body, req.body ?? {});
    await deps.bans.ban(adminOf(req), userId, body);
    return reply.code(204).send();
  });

  app.delete(r.adminUnban.url, async (req, reply) => {
    const { userId } = parseOrThrow(r.adminUnban.params, req.params);
    await deps.bans.unban(adminOf(req), userId);
    return reply.code(204).send();
  });

  app.get(r.adminAudit.url, async (req) => {
    adminOf(req);
    const query = parseOrThrow(r.adminAudit.query, req.query);
    return deps.dbGuard.run(() => listAudit(deps.database.sql, { before: query.cursor, limit: query.limit ?? LIMITS.auditDefaultLimit }));
  });
}
