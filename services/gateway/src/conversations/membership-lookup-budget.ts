import type { MemberRole } from "@parley/protocol";
import { ParleyError } from "@parley/protocol";
import type { Counter } from "prom-client";

type Lookup = (conversationId: string, userId: string) => Promise<MemberRole | undefined>;

interface Bucket {
  tokens: number;
  at: number;
}

export interface MembershipLookupBudgetOptions {
  /** MEMBERSHIP_LOOKUPS_PER_SECOND; the burst is ten times this. */
  perSecond: number;
  refused: Counter;
  now?: () => number;
}

/** Users whose buckets are kept before full ones are dropped (a full bucket is the default). */
const MAX_TRACKED_USERS = 10_000;

/**
 * Bounds the membership look-ups a user can make this pod run against Postgres: one per
 * cache miss. The cache keeps every answer, "not a member" included (membership-cache.ts,
 * dropped by membership-invalidation.ts when the user is added), so a user's own
 * conversations cost one query each per TTL; a flood of random conversation ids misses every
 * time, and past this budget it is answered RATE_LIMITED without touching the database.
 * Per pod and in memory: the work it bounds is this pod's, and it needs no Redis round trip.
 */
export class MembershipLookupBudget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly now: () => number;

  constructor(private readonly opts: MembershipLookupBudgetOptions) {
    this.burst = opts.perSecond * 10;
    this.now = opts.now ?? Date.now;
  }

  wrap(lookup: Lookup): Lookup {
    return (conversationId, userId) => {
      this.take(userId);
      return lookup(conversationId, userId);
    };
  }

  private take(userId: string): void {
    const now = this.now();
    const held = this.buckets.get(userId);
    const tokens = held ? Math.min(this.burst, held.tokens + ((now - held.at) / 1000) * this.opts.perSecond) : this.burst;
    if (tokens < 1) {
      this.opts.refused.inc();
      const retryAfterMs = Math.ceil(((1 - tokens) / this.opts.perSecond) * 1000);
      throw new ParleyError("RATE_LIMITED", "too many look-ups of conversations you are not known in; slow down", retryAfterMs);
    }
    if (!held && this.buckets.size >= MAX_TRACKED_USERS) this.dropFull(now);
    this.buckets.set(userId, { tokens: tokens - 1, at: now });
  }

  /** Buckets refilled to the burst are the same as none. */
  private dropFull(now: number): void {
    const refillMs = (this.burst / this.opts.perSecond) * 1000;
    for (const [userId, b] of this.buckets) if (now - b.at >= refillMs) this.buckets.delete(userId);
    // All still busy: drop the oldest tenth (a Map iterates in insertion order); they get a fresh burst.
    if (this.buckets.size >= MAX_TRACKED_USERS) {
      let n = Math.ceil(MAX_TRACKED_USERS / 10);
      for (const userId of this.buckets.keys()) {
        this.buckets.delete(userId);
        if (--n === 0) break;
      }
    }
  }
}
