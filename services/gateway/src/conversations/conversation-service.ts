import { randomUUID } from "node:crypto";
import { v7 as uuidv7 } from "uuid";
import { conversationRoom, userRoom, webhookEvent } from "@parley/bus";
import {
  addMembers,
  createConversation,
  getConversation,
  isValidCursor,
  listConversations,
  readHistory,
  readSync,
  removeMember,
  MembershipLimitError,
  renameConversation,
  updateConversation,
  appendAudit,
  type Database,
  type HistoryQuery,
  type MembershipLimits,
} from "@parley/db";
import { LIMITS, ParleyError, type Conversation, type ConversationKind, type MemberRole, type Role } from "@parley/protocol";
import type { DbGuard } from "../guard-db.js";
import type { GatewayMetrics } from "../metrics.js";
import type { MemberAddLimiter } from "./member-add-limiter.js";
import type { ParleyServer } from "../socket/types.js";
import type { MembershipCache } from "./membership-cache.js";
import type { MembershipInvalidation } from "./membership-invalidation.js";
import type { EventPublisher } from "../webhooks/event-publisher.js";
import type { BlockService } from "../safety/block-service.js";

export interface ConversationServiceDeps {
  database: Database;
  membership: MembershipCache;
  /** Drops cached membership answers here and on every other gateway. */
  invalidation: Pick<MembershipInvalidation, "publish">;
  io: ParleyServer;
  dbGuard: DbGuard;
  metrics: Pick<GatewayMetrics, "syncMessages" | "membershipLimited">;
  /** Members per conversation and conversations per user (MAX_MEMBERS_PER_CONVERSATION, MAX_CONVERSATIONS_PER_USER). */
  limits: MembershipLimits;
  /** Member adds per user per minute (MEMBER_ADDS_PER_MINUTE), creations' members included. */
  addLimiter: MemberAddLimiter;
  /** conversation.created, member.added and member.removed for the events webhook, once committed. */
  events: EventPublisher;
  /** Nobody may open a direct conversation with, or add, a user who blocks them (FORBIDDEN). */
  blocks: Pick<BlockService, "refuseIfBlockedBy">;
}

const FORBIDDEN = () => new ParleyError("FORBIDDEN", "not a member of this conversation");

/**
 * Conversations and their members, shared by HTTP routes and socket events. Every change of
 * membership moves live sockets cluster-wide (socketsJoin/socketsLeave through the adapter)
 * and drops cached membership answers on every gateway.
 */
export class ConversationService {
  constructor(private readonly deps: ConversationServiceDeps) {}

  private db<T>(work: () => Promise<T>): Promise<T> {
    return this.deps.dbGuard.run(work);
  }

  /** A membership write: a limit it would pass is FORBIDDEN (nothing was changed), counted by limit. */
  private async limited<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await this.db(work);
    } catch (err) {
      if (!(err instanceof MembershipLimitError)) throw err;
      this.deps.metrics.membershipLimited.inc({ limit: err.limit });
      throw new ParleyError("FORBIDDEN", err.message);
    }
  }

  async requireRole(conversationId: string, userId: string, allowed?: readonly MemberRole[]): Promise<MemberRole> {
    // A cached answer needs no connection: it is not queued behind database calls.
    const cached = this.deps.membership.cached(conversationId, userId);
    const role = cached !== undefined ? (cached ?? undefined) : await this.db(() => this.deps.membership.role(conversationId, userId));
    if (!role) throw FORBIDDEN();
    if (allowed && !allowed.includes(role)) throw new ParleyError("FORBIDDEN", `needs the role ${allowed.join(" or ")}`);
    return role;
  }

  async create(userId: string, input: { kind: ConversationKind; memberIds: string[]; title?: string | undefined }) {
    const others = [...new Set(input.memberIds.filter((id) => id !== userId))];
    if (input.kind === "direct" && others.length !== 1) {
      throw new ParleyError("VALIDATION", "memberIds: a direct conversation has exactly one other member");
    }
    if (others.length > 0) await this.deps.blocks.refuseIfBlockedBy(userId, others);
    await this.deps.addLimiter.take(userId, others.length);
    const result = await this.limited(() =>
      createConversation(this.deps.database.sql, { id: uuidv7(), kind: input.kind, title: input.title, createdBy: userId, memberIds: others }, this.deps.limits),
    );
    if (result.created) {
      await this.membersJoined(result.conversation.id, [userId, ...others]);
      this.announce(result.conversation);
      const c = result.conversation;
      this.deps.events.publish(webhookEvent("conversation.created", c.id, { conversationId: c.id, kind: c.kind, createdBy: c.createdBy, memberIds: [userId, ...others] }));
    }
    return result;
  }

  async get(userId: string, conversationId: string) {
    await this.requireRole(conversationId, userId);
    const conversation = await this.db(() => getConversation(this.deps.database.sql, conversationId));
    if (!conversation) throw FORBIDDEN();
    return conversation;
  }

  async list(userId: string, opts: { cursor?: string | undefined; limit?: number | undefined }) {
    if (opts.cursor !== undefined && !isValidCursor(opts.cursor)) throw new ParleyError("VALIDATION", "cursor: not a cursor this server made");
    return this.db(() => listConversations(this.deps.database.sql, userId, { cursor: opts.cursor, limit: opts.limit ?? 50 }));
  }

  async rename(userId: string, conversationId: string, title: string) {
    await this.requireRole(conversationId, userId, ["owner", "admin"]);
    const conversation = await this.db(() => renameConversation(this.deps.database.sql, conversationId, title));
    if (!conversation) throw FORBIDDEN();
    this.announce(conversation);
    return conversation;
  }

  /**
   * PATCH /v1/conversations/:id: the title, and (v1.1) the retention. Owner or admin of the
   * conversation; a platform admin (`parley_role: "admin"`) may set the retention of any.
   */
  async update(
    caller: { userId: string; role: Role },
    conversationId: string,
    change: { title?: string | undefined; retentionDays?: number | null | undefined },
  ) {
    const onlyRetention = change.title === undefined;
    if (!(caller.role === "admin" && onlyRetention)) await this.requireRole(conversationId, caller.userId, ["owner", "admin"]);
    const conversation = await this.db(() =>
      this.deps.database.sql.begin(async (tx) => {
        const sql = tx as unknown as typeof this.deps.database.sql;
        const updated = await updateConversation(sql, conversationId, change);
        if (updated && change.retentionDays !== undefined) {
          await appendAudit(sql, {
            actorId: caller.userId,
            actorRole: caller.role,
            action: "conversation.retention",
            targetKind: "conversation",
            targetId: conversationId,
            details: { retentionDays: change.retentionDays },
          });
        }
        return updated;
      }),
    );
    if (!conversation) throw FORBIDDEN();
    this.announce(conversation);
    return conversation;
  }

  async addMembers(userId: string, conversationId: string, userIds: string[]) {
    await this.requireRole(conversationId, userId, ["owner", "admin"]);
    const conversation = await this.db(() => getConversation(this.deps.database.sql, conversationId));
    if (!conversation) throw FORBIDDEN();
    if (conversation.kind === "direct") throw new ParleyError("VALIDATION", "a direct conversation has exactly two members");
    await this.deps.blocks.refuseIfBlockedBy(userId, userIds);
    await this.deps.addLimiter.take(userId, new Set(userIds).size);
    const added = await this.limited(() => addMembers(this.deps.database.sql, conversationId, userIds, this.deps.limits));
    if (added.length > 0) await this.membersJoined(conversationId, added);
    const updated = (await this.db(() => getConversation(this.deps.database.sql, conversationId)))!;
    if (added.length > 0) {
      this.announce(updated);
      this.deps.events.publish(webhookEvent("member.added", randomUUID(), { conversationId, userIds: added, by: userId }));
    }
    return updated;
  }

  /** Members may leave; removing someone else needs owner or admin, and the owner stays. */
  async removeMember(userId: string, conversationId: string, target: string): Promise<void> {
    if (target !== userId) {
      await this.requireRole(conversationId, userId, ["owner", "admin"]);
      const targetRole = await this.db(() => this.deps.membership.role(conversationId, target));
      if (targetRole === "owner") throw new ParleyError("FORBIDDEN", "the owner cannot be removed");
    } else {
      await this.requireRole(conversationId, userId);
    }
    const removed = await this.db(() => removeMember(this.deps.database.sql, conversationId, target));
    if (removed) {
      await this.membersLeft(conversationId, [target]);
      const updated = await this.db(() => getConversation(this.deps.database.sql, conversationId));
      if (updated) this.announce(updated, [target]);
      this.deps.events.publish(webhookEvent("member.removed", randomUUID(), { conversationId, userIds: [target], by: userId }));
    }
  }

  async history(userId: string, q: HistoryQuery) {
    await this.requireRole(q.conversationId, userId);
    if (q.beforeSeq !== undefined && q.afterSeq !== undefined && q.beforeSeq <= q.afterSeq) {
      throw new ParleyError("VALIDATION", "beforeSeq must be greater than afterSeq");
    }
    const page = await this.db(() => readHistory(this.deps.database.sql, q));
    this.deps.metrics.syncMessages.observe({ request: "history" }, page.messages.length);
    return page;
  }

  async sync(userId: string, q: { cursors?: Record<string, number> | undefined; limit?: number | undefined }) {
    const conversations = await this.db(() => readSync(this.deps.database.sql, { userId, cursors: q.cursors, limit: q.limit ?? LIMITS.syncDefaultLimit }));
    this.deps.metrics.syncMessages.observe({ request: "sync" }, conversations.reduce((n, c) => n + c.messages.length, 0));
    return { conversations };
  }

  /**
   * `conversation:updated` to every member, through their user rooms: a member added a moment
   * ago may not be in the conversation's room on every pod yet. `alsoTo` reaches users who
   * just left, so their apps learn it too.
   */
  private announce(conversation: Conversation, alsoTo: string[] = []): void {
    const userIds = [...(conversation.members ?? []).map((m) => m.userId), ...alsoTo];
    if (userIds.length > 0) this.deps.io.to(userIds.map(userRoom)).emit("conversation:updated", conversation);
  }

  private async membersJoined(conversationId: string, userIds: string[]): Promise<void> {
    await this.deps.invalidation.publish(conversationId, userIds);
    this.deps.io.in(userIds.map(userRoom)).socketsJoin(conversationRoom(conversationId));
  }

  /**
   * The removal is answered only once no socket of the users can hear the conversation: this
   * pod's sockets leave at once (the adapter's cluster-wide leave applies locally only after its
   * publish's round trip), and the other pods' leave is published before the invalidation that
   * the answer waits for, on the same connection, so Redis has sent it to every pod by then.
   * A pod still in a handshake with one of these users re-checks (socket/room-sync.ts).
   */
  private async membersLeft(conversationId: string, userIds: string[]): Promise<void> {
    const room = conversationRoom(conversationId);
    const userRooms = userIds.map(userRoom);
    this.deps.io.local.in(userRooms).socketsLeave(room);
    this.deps.io.in(userRooms).socketsLeave(room);
    await this.deps.invalidation.publish(conversationId, userIds);
  }
}
