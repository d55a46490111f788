import type { UserCache } from "../conversations/membership-invalidation.js";

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/**
 * A per-user answer read on hot paths (a user's blocks for typing, presence and direct sends; a
 * user's ban for every handshake and HTTP request), cached for `ttlMs` and dropped cluster-wide
 * when it changes (conversations/membership-invalidation.ts), as membership answers are
 * (membership-cache.ts, whose in-flight rule this follows): a look-up that an invalidation
 * overtook answers its caller but is not cached, so a stale answer never outlives the change.
 */
export class UserStateCache<T> implements UserCache {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly inFlight = new Map<string, symbol>();

  constructor(
    private readonly lookup: (userId: string) => Promise<T>,
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  /** The cached answer without waiting, or undefined when it must be looked up (`get`). */
  cached(userId: string): { value: T } | undefined {
    const hit = this.entries.get(userId);
    return hit && hit.expiresAt > Date.now() ? { value: hit.value } : undefined;
  }

  async get(userId: string): Promise<T> {
    const hit = this.entries.get(userId);
    if (hit && hit.expiresAt > Date.now()) return hit.value;
    const token = Symbol(userId);
    this.inFlight.set(userId, token);
    let current = false;
    let value: T;
    try {
      value = await this.lookup(userId);
    } finally {
      current = this.inFlight.get(userId) === token;
      if (current) this.inFlight.delete(userId);
    }
    if (!current) return value;
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest tenth.
      let n = Math.ceil(this.maxEntries / 10);
      for (const k of this.entries.keys()) {
        this.entries.delete(k);
        if (--n === 0) break;
      }
    }
    this.entries.set(userId, { value, expiresAt: Date.now() + this.ttlMs });
    return value;
  }

  invalidate(userIds: readonly string[]): void {
    for (const userId of userIds) {
      this.entries.delete(userId);
      this.inFlight.delete(userId);
    }
  }

  clear(): void {
    this.entries.clear();
    this.inFlight.clear();
  }
}

/**
 * How long a pod trusts a cached block list or ban without hearing a change: only a lost
 * invalidation (a pub/sub message dropped while a pod's subscriber reconnects, which also clears
 * the caches) leaves one stale, so this bounds that rare case; as membership-cache.ts's 60 s.
 */
export const SAFETY_CACHE_TTL_MS = 60_000;
