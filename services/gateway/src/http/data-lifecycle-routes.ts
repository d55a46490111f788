import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AuditRecord } from "@parley/db";
import { HttpRoutes, ParleyError, parseOrThrow } from "@parley/protocol";
import type { VerifiedToken } from "../auth/token-verifier.js";
import type { ExportStreams } from "../data-lifecycle/export-stream.js";
import type { ErasureJobs } from "../data-lifecycle/erasure-jobs.js";

export interface DataLifecycleRouteDeps {
  exports: ExportStreams;
  erasures: ErasureJobs;
  /** The caller, if their token's `parley_role` is `"admin"`; FORBIDDEN otherwise. */
  requireAdmin: (req: FastifyRequest) => VerifiedToken;
  /** The caller (UNAUTHORIZED without a token). */
  userOf: (req: FastifyRequest) => VerifiedToken;
  /** Appends a line to the audit log (libs/db audit-log.ts). */
  audit: (entry: AuditRecord) => Promise<void>;
}

/** Export and erasure (protocol.md v1.1): the caller's own export, and the admin routes. */
export async function registerDataLifecycleRoutes(app: FastifyInstance, deps: DataLifecycleRouteDeps): Promise<void> {
  const r = HttpRoutes;
  app.get(r.exportMe.url, async (req, reply) => {
    const user = deps.userOf(req);
    const stream = deps.exports.open(user.userId);
    await deps.audit({ actorId: user.userId, actorRole: user.role, action: "user.export", targetKind: "user", targetId: user.userId });
    return reply.type("application/x-ndjson; charset=utf-8").header("cache-control", "no-store").send(stream);
  });

  app.get(r.exportUser.url, async (req, reply) => {
    const admin = deps.requireAdmin(req);
    const { userId } = parseOrThrow(r.exportUser.params, req.params);
    const stream = deps.exports.open(userId);
    await deps.audit({ actorId: admin.userId, actorRole: admin.role, action: "user.export", targetKind: "user", targetId: userId });
    return reply.type("application/x-ndjson; charset=utf-8").header("cache-control", "no-store").send(stream);
  });

  app.delete(r.eraseUser.url, async (req, reply) => {
    const admin = deps.requireAdmin(req);
    const { userId } = parseOrThrow(r.eraseUser.params, req.params);
    const jobId = await deps.erasures.start(userId, admin.userId);
    await deps.audit({ actorId: admin.userId, actorRole: admin.role, action: "user.erase", targetKind: "user", targetId: userId, details: { jobId } });
    return reply.code(202).send({ jobId });
  });

  app.get(r.getJob.url, async (req) => {
    deps.requireAdmin(req);
    const { id } = parseOrThrow(r.getJob.params, req.params);
    const job = await deps.erasures.get(id);
    if (!job) throw new ParleyError("NOT_FOUND", "no such job");
    return { job };
  });
}
