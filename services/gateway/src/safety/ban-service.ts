import { userRoom } from "@parley/bus";
import { appendAudit, deleteBan, putBan, type Database, type Sql, type StoredBan } from "@parley/db";
import { ParleyError } from "@parley/protocol";
import type { Logger } from "@parley/runtime";
import { AuthError } from "../auth/token-verifier.js";
import type { Caller } from "../auth/roles.js";
import type { MembershipInvalidation } from "../conversations/membership-invalidation.js";
import type { DbGuard } from "../guard-db.js";
import type { ParleyServer } from "../socket/types.js";
import type { SafetyMetrics } from "./metrics.js";
import type { SafetyEvents } from "./safety-events.js";
import type { UserStateCache } from "./user-state-cache.js";

export interface BanServiceDeps {
  database: Database;
  /** Each user's ban (or none), cached and dropped cluster-wide on every change. */
  cache: Pick<UserStateCache<StoredBan | undefined>, "get" | "cached">;
  invalidation: Pick<MembershipInvalidation, "publishSafety">;
  io: ParleyServer;
  dbGuard: DbGuard;
  metrics: Pick<SafetyMetrics, "bans" | "bannedRefusals" | "bannedDisconnects">;
  events: Pick<SafetyEvents, "userBanned">;
  logger: Logger;
}

/**
 * After a ban change is heard, each pod checks the user's local sockets once more this much
 * later: a handshake that read the cache just before the invalidation arrived, and finished just
 * after, is closed then. One second: the contract's "closed on every pod at once".
 */
const SECOND_SWEEP_MS = 1_000;

/**
 * Bans (protocol.md, "Administration"): `PUT/DELETE /v1/admin/users/:userId/ban`. A ban is a
 * row with an optional end; one that has ended counts as none wherever it is read, so it lifts
 * by itself. Every handshake and HTTP request asks `refuse*` (a cached answer: no Postgres
 * read per request), and a change is published on the cluster's invalidation channel: every
 * pod drops its cached answer and closes the user's sockets it holds (`enforce`).
 */
export class BanService {
  constructor(private readonly deps: BanServiceDeps) {}

  /** The ban in force now, if any (the cache holds the row; its end is compared here, each time). */
  async current(userId: string): Promise<StoredBan | undefined> {
    const hit = this.deps.cache.cached(userId);
    const ban = hit ? hit.value : await this.deps.dbGuard.run(() => this.deps.cache.get(userId));
    if (!ban) return undefined;
    return ban.until === null || Date.parse(ban.until) > Date.now() ? ban : undefined;
  }

  /** A handshake of a banned user: AUTH_BANNED. */
  async refuseHandshake(userId: string): Promise<void> {
    const ban = await this.current(userId);
    if (!ban) return;
    this.deps.metrics.bannedRefusals.inc({ where: "handshake" });
    throw new AuthError("AUTH_BANNED", ban.until ? `banned until ${ban.until}` : "banned");
  }

  /** An HTTP request of a banned user: 403 FORBIDDEN. */
  async refuseRequest(userId: string): Promise<void> {
    const ban = await this.current(userId);
    if (!ban) return;
    this.deps.metrics.bannedRefusals.inc({ where: "http" });
    throw new ParleyError("FORBIDDEN", ban.until ? `banned until ${ban.until}` : "banned");
  }

  async ban(admin: Caller, userId: string, input: { until?: string | undefined; reason?: string | undefined }): Promise<void> {
    await this.deps.dbGuard.run(() =>
      this.deps.database.sql.begin(async (txRaw) => {
        const tx = txRaw as unknown as Sql;
        await putBan(tx, { userId, until: input.until === undefined ? null : new Date(input.until), reason: input.reason ?? null, bannedBy: admin.userId });
        await appendAudit(tx, {
          actorId: admin.userId,
          actorRole: admin.role,
          action: "user.ban",
          targetKind: "user",
          targetId: userId,
          details: { ...(input.until ? { until: input.until } : {}), ...(input.reason ? { reason: input.reason } : {}) },
        });
      }),
    );
    this.deps.metrics.bans.inc({ op: "ban" });
    await this.deps.invalidation.publishSafety("ban", [userId]);
    this.deps.events.userBanned({ userId, until: input.until, reason: input.reason, by: admin.userId });
  }

  async unban(admin: Caller, userId: string): Promise<void> {
    const lifted = await this.deps.dbGuard.run(() =>
      this.deps.database.sql.begin(async (txRaw) => {
        const tx = txRaw as unknown as Sql;
        const had = await deleteBan(tx, userId);
        if (had) await appendAudit(tx, { actorId: admin.userId, actorRole: admin.role, action: "user.unban", targetKind: "user", targetId: userId });
        return had;
      }),
    );
    if (!lifted) return;
    this.deps.metrics.bans.inc({ op: "unban" });
    await this.deps.invalidation.publishSafety("ban", [userId]);
  }

  /**
   * A ban change was heard (the cache entry is already gone): closes the sockets this pod holds
   * for users now banned, now and once more a second later. Pods holding none of their sockets
   * read nothing.
   */
  enforce(userIds: readonly string[]): void {
    const sweep = () => {
      for (const userId of userIds) {
        const local = this.deps.io.of("/").adapter.rooms.get(userRoom(userId));
        if (!local || local.size === 0) continue;
        this.current(userId).then(
          (ban) => {
            if (!ban) return;
            this.deps.metrics.bannedDisconnects.inc(local.size);
            this.deps.io.local.in(userRoom(userId)).disconnectSockets(true);
          },
          (err: unknown) => this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err), userId }, "ban check failed; sockets left open"),
        );
      }
    };
    sweep();
    setTimeout(sweep, SECOND_SWEEP_MS).unref();
  }
}
