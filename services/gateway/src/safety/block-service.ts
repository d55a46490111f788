import { userRoom } from "@parley/bus";
import { addBlock, appendAudit, blockedBy, blockersAmong, directPairOf, removeBlock, type Database, type Sql } from "@parley/db";
import { ParleyError } from "@parley/protocol";
import type { Caller } from "../auth/roles.js";
import type { MembershipInvalidation } from "../conversations/membership-invalidation.js";
import type { DbGuard } from "../guard-db.js";
import type { ParleyServer } from "../socket/types.js";
import type { SafetyMetrics } from "./metrics.js";
import type { UserStateCache } from "./user-state-cache.js";

/** A user's blocks in both directions, as the hot paths read them. */
export interface BlockState {
  blocks: ReadonlySet<string>;
  blockedBy: ReadonlySet<string>;
}

export interface BlockServiceDeps {
  database: Database;
  /** Each user's BlockState, cached and dropped cluster-wide on every change. */
  cache: Pick<UserStateCache<BlockState>, "get" | "cached">;
  invalidation: Pick<MembershipInvalidation, "publishSafety">;
  io: ParleyServer;
  dbGuard: DbGuard;
  metrics: Pick<SafetyMetrics, "blocks">;
}

/**
 * Blocks (protocol.md, "Safety"): when A blocks B, B cannot open a direct conversation with A
 * or add A anywhere, B's sends in their direct conversation are refused, and neither sees the
 * other's typing or presence; in groups B's messages are still stored and delivered (A's
 * clients hide them), but A gets no push for them (services/delivery reads the table there).
 * A change is committed with its audit line, then dropped from every pod's cache, and A's
 * devices hear their new list (`blocks:changed`).
 */
/** Conversations whose kind (direct or not) this pod remembers: a few MiB at most. */
const DIRECT_PAIRS_MAX = 100_000;

export class BlockService {
  /** conversationId → its two members if direct, null if not (never changes once made). */
  private readonly directPairs = new Map<string, readonly [string, string] | null>();

  constructor(private readonly deps: BlockServiceDeps) {}

  async block(caller: Caller, userId: string): Promise<Record<string, never>> {
    if (userId === caller.userId) throw new ParleyError("VALIDATION", "userId: you cannot block yourself");
    await this.change(caller, userId, "block");
    return {};
  }

  async unblock(caller: Caller, userId: string): Promise<Record<string, never>> {
    await this.change(caller, userId, "unblock");
    return {};
  }

  /** Whom the caller blocks (GET /v1/blocks), oldest block first. */
  async list(userId: string): Promise<{ userIds: string[] }> {
    return { userIds: await this.deps.dbGuard.run(() => blockedBy(this.deps.database.sql, userId)) };
  }

  /** Both directions, cached: typing, presence and the send path ask this. A hit waits for no database slot. */
  async relations(userId: string): Promise<BlockState> {
    const hit = this.deps.cache.cached(userId);
    return hit ? hit.value : this.deps.dbGuard.run(() => this.deps.cache.get(userId));
  }

  /**
   * B's send in a direct conversation with A, when A blocks B: FORBIDDEN. A conversation's
   * kind and pair never change, so they are cached for good (bounded); the block state is the
   * sender's cached relations. Group conversations pass: there the blocker's clients hide.
   */
  async refuseBlockedDirectSend(senderId: string, conversationId: string): Promise<void> {
    let pair = this.directPairs.get(conversationId);
    if (pair === undefined) {
      pair = await this.deps.dbGuard.run(() => directPairOf(this.deps.database.sql, conversationId));
      if (this.directPairs.size >= DIRECT_PAIRS_MAX) this.directPairs.delete(this.directPairs.keys().next().value!);
      this.directPairs.set(conversationId, pair);
    }
    if (pair === null) return;
    const peer = pair[0] === senderId ? pair[1] : pair[0];
    if ((await this.relations(senderId)).blockedBy.has(peer)) throw new ParleyError("FORBIDDEN", "this user has blocked you");
  }

  /** Everyone on either side of a block with this user: whom typing and presence leave out. */
  async separatedFrom(userId: string): Promise<string[]> {
    const state = await this.relations(userId);
    if (state.blocks.size === 0 && state.blockedBy.size === 0) return [];
    return [...new Set([...state.blocks, ...state.blockedBy])];
  }

  /**
   * FORBIDDEN when one of `others` blocks `userId`: a direct conversation with them, or adding
   * them to a conversation. Read from Postgres (a rare write path, not cached).
   */
  async refuseIfBlockedBy(userId: string, others: readonly string[]): Promise<void> {
    const blockers = await this.deps.dbGuard.run(() => blockersAmong(this.deps.database.sql, userId, others));
    if (blockers.length > 0) throw new ParleyError("FORBIDDEN", "a user you named has blocked you");
  }

  private async change(caller: Caller, userId: string, op: "block" | "unblock"): Promise<void> {
    const changed = await this.deps.dbGuard.run(() =>
      this.deps.database.sql.begin(async (txRaw) => {
        const tx = txRaw as unknown as Sql;
        const done = op === "block" ? await addBlock(tx, caller.userId, userId) : await removeBlock(tx, caller.userId, userId);
        if (done) {
          await appendAudit(tx, { actorId: caller.userId, actorRole: caller.role, action: op === "block" ? "user.block" : "user.unblock", targetKind: "user", targetId: userId });
        }
        return done;
      }),
    );
    if (!changed) return;
    this.deps.metrics.blocks.inc({ op });
    await this.deps.invalidation.publishSafety("blocks", [caller.userId, userId]);
    const { userIds } = await this.list(caller.userId);
    this.deps.io.to(userRoom(caller.userId)).emit("blocks:changed", { userIds });
  }
}
