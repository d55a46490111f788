import { MembershipChangeSchema, type MembershipChange } from "@parley/bus";
import { onConnectionGap, type Logger, type Redis } from "@parley/runtime";
import { parseJson } from "../parse-json.js";
import type { MembershipCache } from "./membership-cache.js";


export interface MembershipInvalidationDeps {
  cache: MembershipCache;
  /** The fail-fast producer connection (PUBLISH). */
  publisher: Redis;
  /** The pod's events subscriber (SUBSCRIBE). */
  subscriber: Redis;
  /** The keyspace's `membershipChannel`. */
  channel: string;
  logger: Logger;
  /** Every change heard, after the cache dropped it (socket/room-sync.ts moves this pod's sockets). */
  onChange: (change: MembershipChange) => void;
}

/**
 * Both ends of a membership change's round trip: the pod that changes membership drops its
 * own cached answers and publishes the change; every pod drops the answers it hears about.
 * The cache's TTL only bounds the damage of an invalidation lost on the way.
 */
export class MembershipInvalidation {
  private readonly onMessage = (channel: string, raw: string) => {
    if (channel !== this.deps.channel) return;
    const change = MembershipChangeSchema.safeParse(parseJson(raw));
    if (change.success) {
      this.deps.cache.invalidate(change.data.conversationId, change.data.userIds);
      this.deps.onChange(change.data);
    } else this.deps.logger.debug({ channel }, "unreadable membership change dropped");
  };
  // After a reconnect, cached answers may have missed invalidations.
  private readonly onReconnect = () => this.deps.cache.clear();

  private stopListening: (() => void) | undefined;

  constructor(private readonly deps: MembershipInvalidationDeps) {}

  async start(): Promise<void> {
    this.deps.subscriber.on("message", this.onMessage);
    await this.deps.subscriber.subscribe(this.deps.channel);
    this.stopListening = onConnectionGap(this.deps.subscriber, { lost: () => {}, back: this.onReconnect });
  }

  /** Drops this pod's cached answers for these members at once, then tells the other pods. */
  async publish(conversationId: string, userIds: string[]): Promise<void> {
    this.deps.cache.invalidate(conversationId, userIds);
    const change: MembershipChange = { conversationId, userIds };
    await this.deps.publisher.publish(this.deps.channel, JSON.stringify(change)).catch(() => {
      // Other pods' caches expire by TTL; the change itself is committed.
    });
  }

  async close(): Promise<void> {
    this.deps.subscriber.off("message", this.onMessage);
    this.stopListening?.();
    await this.deps.subscriber.unsubscribe(this.deps.channel).catch(() => {});
  }
}
