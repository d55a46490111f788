import type { MemberRole } from "@parley/protocol";

type Lookup = (conversationId: string, userId: string) => Promise<MemberRole | undefined>;

interface Entry {
  role: MemberRole | null;
  expiresAt: number;
}

/**
 * "Is this user a member, and with what role?" asked on every event. Answers are cached for
 * `ttlMs` and dropped cluster-wide when membership changes (membership-invalidation.ts), so
 * the TTL only bounds the damage of a lost invalidation.
 */
export class MembershipCache {
  private readonly entries = new Map<string, Entry>();
  /**
   * Look-ups in flight, by key: a token each, dropped by `invalidate`. A look-up stores its
   * answer only if its token is still there, so an answer read before a membership change
   * (and arriving after its invalidation) is never cached. Holds only keys being looked up.
   */
  private readonly inFlight = new Map<string, symbol>();

  constructor(
    private readonly lookup: Lookup,
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 100_000,
  ) {}

  /** The cached answer without waiting: a role, null (not a member), or undefined (not cached: ask `role`). */
  cached(conversationId: string, userId: string): MemberRole | null | undefined {
    const hit = this.entries.get(`${conversationId}|${userId}`);
    return hit && hit.expiresAt > Date.now() ? hit.role : undefined;
  }

  async role(conversationId: string, userId: string): Promise<MemberRole | undefined> {
    const key = `${conversationId}|${userId}`;
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > Date.now()) return hit.role ?? undefined;
    const token = Symbol(key);
    this.inFlight.set(key, token);
    let current = false;
    let role: MemberRole | undefined;
    try {
      role = await this.lookup(conversationId, userId);
    } finally {
      // Gone: invalidated meanwhile. Replaced: a later look-up of the key stores instead.
      current = this.inFlight.get(key) === token;
      if (current) this.inFlight.delete(key);
    }
    if (!current) return role;
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest tenth.
      let n = Math.ceil(this.maxEntries / 10);
      for (const k of this.entries.keys()) {
        this.entries.delete(k);
        if (--n === 0) break;
      }
    }
    this.entries.set(key, { role: role ?? null, expiresAt: Date.now() + this.ttlMs });
    return role;
  }

  invalidate(conversationId: string, userIds: readonly string[]): void {
    for (const userId of userIds) {
      const key = `${conversationId}|${userId}`;
      this.entries.delete(key);
      this.inFlight.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
    this.inFlight.clear();
  }
}
