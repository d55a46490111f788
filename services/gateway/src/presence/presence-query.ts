import type { PresenceStore } from "@parley/bus";
import { coMembersAmong, type Database } from "@parley/db";
import { ParleyError, type ClientAckOk } from "@parley/protocol";
import type { Logger } from "@parley/runtime";
import type { DbGuard } from "../guard-db.js";
import type { BlockService } from "../safety/block-service.js";

type PresenceAnswer = Omit<ClientAckOk<"presence:query">, "ok">;
type PresenceEntry = PresenceAnswer["presence"][number];

export interface PresenceQueryDeps {
  database: Database;
  store: Pick<PresenceStore, "read">;
  logger: Logger;
  dbGuard: DbGuard;
  /** Users on either side of a block with the caller are left out, as strangers are. */
  blocks: Pick<BlockService, "separatedFrom">;
}

/**
 * `presence:query`: the status of the named users who share a conversation with the caller;
 * everyone else is left out (not refused: the answer must not tell strangers apart from
 * unknown ids). Status comes from the live counts in Redis; `lastSeenAt` from Redis, or from
 * Postgres when Redis no longer has it.
 */
export class PresenceQuery {
  constructor(private readonly deps: PresenceQueryDeps) {}

  async query(callerId: string, userIds: readonly string[]): Promise<PresenceAnswer> {
    const hidden = new Set(await this.deps.blocks.separatedFrom(callerId));
    const asked = [...new Set(userIds)].filter((id) => !hidden.has(id));
    if (asked.length === 0) return { presence: [] };
    const visible = await this.deps.dbGuard.run(() => coMembersAmong(this.deps.database.sql, callerId, asked));
    if (visible.length === 0) return { presence: [] };
    const states = await this.deps.store.read(visible.map((v) => v.userId)).catch((err: unknown) => {
      this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "presence: Redis read failed");
      throw new ParleyError("UNAVAILABLE", "presence is out of reach; retry later");
    });
    const stored = new Map(visible.map((v) => [v.userId, v.lastSeenAt]));
    const presence: PresenceEntry[] = [];
    for (const userId of asked) {
      if (!stored.has(userId)) continue;
      const state = states.get(userId);
      if (state?.online) {
        presence.push({ userId, status: "online" });
        continue;
      }
      const lastSeenAt = state?.lastSeenAt ?? stored.get(userId);
      presence.push(lastSeenAt ? { userId, status: "offline", lastSeenAt } : { userId, status: "offline" });
    }
    return { presence };
  }
}
