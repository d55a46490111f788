import { CacheInvalidationSchema, type MembershipChange, type UserSafetyChange } from "@parley/bus";
import type { Logger, Redis } from "@parley/runtime";
import { parseJson } from "../parse-json.js";
import type { MembershipCache } from "./membership-cache.js";

/** A per-user cache dropped cluster-wide with membership's (safety/block-cache.ts, safety/ban-cache.ts). */
export interface UserCache {
  invalidate(userIds: readonly string[]): void;
  clear(): void;
}

export interface MembershipInvalidationDeps {
  cache: MembershipCache;
  /** The per-user safety caches, by the scope their changes are published under. */
  userCaches: Record<UserSafetyChange["scope"], UserCache>;
  /** The fail-fast producer connection (PUBLISH). */
  publisher: Redis;
  /** The pod's events subscriber (SUBSCRIBE). */
  subscriber: Redis;
  /** The keyspace's `membershipChannel`. */
  channel: string;
  logger: Logger;
  /** Every change heard, after the cache dropped it (socket/room-sync.ts moves this pod's sockets). */
  onChange: (change: MembershipChange) => void;
  /** Every safety change heard, after the cache dropped it (a ban closes the user's sockets here). */
  onSafetyChange: (change: UserSafetyChange) => void;
}

/**
 * Both ends of a cache drop's round trip, for membership and for users' safety state (blocks,
 * bans): the pod that changes it drops its own cached answers and publishes the change; every
 * pod drops the answers it hears about. The caches' TTLs only bound the damage of an
 * invalidation lost on the way.
 */
export class MembershipInvalidation {
  private readonly onMessage = (channel: string, raw: string) => {
    if (channel !== this.deps.channel) return;
    const change = CacheInvalidationSchema.safeParse(parseJson(raw));
    if (!change.success) {
      this.deps.logger.debug({ channel }, "unreadable cache invalidation dropped");
      return;
    }
    if ("scope" in change.data) {
      this.deps.userCaches[change.data.scope].invalidate(change.data.userIds);
      this.deps.onSafetyChange(change.data);
    } else {
      this.deps.cache.invalidate(change.data.conversationId, change.data.userIds);
      this.deps.onChange(change.data);
    }
  };
  // After a reconnect, cached answers may have missed invalidations.
  private readonly onReconnect = () => {
    this.deps.cache.clear();
    for (const cache of Object.values(this.deps.userCaches)) cache.clear();
  };

  constructor(private readonly deps: MembershipInvalidationDeps) {}

  async start(): Promise<void> {
    this.deps.subscriber.on("message", this.onMessage);
    await this.deps.subscriber.subscribe(this.deps.channel);
    this.deps.subscriber.on("ready", this.onReconnect);
  }

  /** Drops this pod's cached answers for these members at once, then tells the other pods. */
  async publish(conversationId: string, userIds: string[]): Promise<void> {
    this.deps.cache.invalidate(conversationId, userIds);
    const change: MembershipChange = { conversationId, userIds };
    await this.send(change);
  }

  /**
   * Drops this pod's cached safety state of these users, runs the change here, then tells the
   * other pods (the publishing pod hears its own message too: both steps are idempotent).
   */
  async publishSafety(scope: UserSafetyChange["scope"], userIds: string[]): Promise<void> {
    const change: UserSafetyChange = { scope, userIds };
    this.deps.userCaches[scope].invalidate(userIds);
    this.deps.onSafetyChange(change);
    await this.send(change);
  }

  private async send(change: MembershipChange | UserSafetyChange): Promise<void> {
    await this.deps.publisher.publish(this.deps.channel, JSON.stringify(change)).catch((err: unknown) => {
      // Other pods' caches expire by TTL; the change itself is committed.
      this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "cache invalidation not published");
    });
  }

  async close(): Promise<void> {
    this.deps.subscriber.off("message", this.onMessage);
    this.deps.subscriber.off("ready", this.onReconnect);
    await this.deps.subscriber.unsubscribe(this.deps.channel).catch(() => {});
  }
}
