import type { Redis } from "ioredis";
import { ParleyError } from "@parley/protocol";
import { createTokenBucket, type TokenBucket } from "./token-bucket.js";

export interface SendRateLimiter {
  /** Counts one send attempt for the user; throws RATE_LIMITED (with retryAfterMs) or UNAVAILABLE. */
  consume(userId: string): Promise<void>;
  /**
   * Counts the attempt against what this pod already holds for the user, without waiting: true
   * when that was enough; false means nothing was counted and `consume` must be called.
   */
  consumeNow?(userId: string): boolean;
}

export interface ReservationOptions {
  /** At most this many tokens held ahead of use by one pod for one user (default burst / 4). */
  maxChunk?: number;
  /** A chunk is sized to last about this long at the user's recent rate on this pod. */
  chunkHorizonMs?: number;
  /** Tokens of a user who has not sent on this pod for this long go back to the shared bucket. */
  idleMs?: number;
}

/**
 * Per-user send limit shared by every pod: a token bucket in Redis holding `burst` tokens,
 * refilled at `perSecond` (so up to `burst` at once, `perSecond` sustained), see token-bucket.ts.
 */
export function createSendRateLimiter(
  redis: Redis,
  opts: { perSecond: number; burst: number; keyPrefix: string; /** What is counted, for the refusal's message. */ noun?: string } & ReservationOptions,
): ReservingRateLimiter {
  const bucket = createTokenBucket(redis, { keyPrefix: opts.keyPrefix, capacity: opts.burst, perSecond: opts.perSecond });
  return new ReservingRateLimiter(bucket, { ...opts, maxChunk: opts.maxChunk ?? Math.max(1, Math.floor(opts.burst / 4)) });
}

interface Lease {
  /** Reserved from the shared bucket and not spent yet. */
  tokens: number;
  /** How many to ask for next time. */
  chunk: number;
  /** When the last reservation was granted, and how many it brought. */
  grantedAt: number;
  granted: number;
  lastUse: number;
  /** The shared bucket is empty until then (as last heard from Redis). */
  blockedUntil: number;
  /** Sends of this user on this pod waiting for a reservation. */
  waiting: number;
  /** Tokens spent since the last call to the bucket (reported with the next one: token-bucket.ts, held). */
  spent: number;
  asking: Promise<void> | undefined;
}

/**
 * Spends tokens reserved in chunks from the shared bucket: a send costs a Redis call only when
 * this pod's chunk for the user is used up. The chunk follows the user's recent rate on this pod
 * (about `chunkHorizonMs` worth, at most `maxChunk`) and is clipped to what the bucket holds, so
 * a burst on one pod gets exactly what the bucket allows, in a few calls (concurrent sends share
 * one call). A user who sends less often than every `chunkHorizonMs / 2` gets chunks of one:
 * a call per send, nothing held. What a pod holds goes back to the bucket when the user's socket
 * leaves the pod (`release`, so a user moving to another pod finds their tokens there) or when
 * the user has not sent on the pod for `idleMs` (HTTP, several devices): another pod refuses the
 * user early by at most `maxChunk` tokens, for at most `idleMs` plus a sweep.
 * After a refusal the pod refuses the user locally until the bucket holds a token again, so a
 * flood costs Redis nothing. Why reserve at all: docs/decisions/0005-reserving-rate-limiter.md.
 */
/** How long a pod remembers spends it has not reported (the bucket forgets held tokens after 10 s). */
const HELD_REPORT_MS = 10_000;

export class ReservingRateLimiter implements SendRateLimiter {
  private readonly leases = new Map<string, Lease>();
  /** Spends of forgotten leases not yet reported to the bucket, with when they were spent. */
  private readonly unreported = new Map<string, { spent: number; at: number }>();
  private readonly sweep: NodeJS.Timeout;
  private readonly maxChunk: number;
  private readonly horizonMs: number;
  private readonly idleMs: number;

  constructor(
    private readonly bucket: TokenBucket,
    private readonly opts: { noun?: string } & ReservationOptions,
  ) {
    this.maxChunk = Math.max(1, opts.maxChunk ?? 10);
    this.horizonMs = opts.chunkHorizonMs ?? 5_000;
    // More than half the horizon: a chunk of 2 or more is only taken by a user who sends at
    // least every horizon/2, so it is spent before it would go back.
    this.idleMs = opts.idleMs ?? 3_000;
    this.sweep = setInterval(() => this.returnIdle(performance.now() - this.idleMs), Math.max(50, this.idleMs / 2));
    this.sweep.unref();
  }

  /** Leases held (users with recent sends on this pod). */
  get size(): number {
    return this.leases.size;
  }

  consumeNow(userId: string): boolean {
    const lease = this.leases.get(userId);
    if (!lease || lease.tokens < 1 || lease.waiting > 0) return false;
    lease.tokens--;
    lease.spent++;
    lease.lastUse = performance.now();
    return true;
  }

  consume(userId: string): Promise<void> {
    let lease = this.leases.get(userId);
    if (!lease) {
      lease = { tokens: 0, chunk: 1, grantedAt: 0, granted: 0, lastUse: 0, blockedUntil: 0, waiting: 0, spent: 0, asking: undefined };
      this.leases.set(userId, lease);
    }
    const now = performance.now();
    lease.lastUse = now;
    // The common case costs no Redis call and no promise chain.
    if (lease.tokens >= 1 && lease.waiting === 0) {
      lease.tokens--;
      lease.spent++;
      return Promise.resolve();
    }
    if (lease.blockedUntil > now && lease.waiting === 0) return Promise.reject(this.limited(lease.blockedUntil - now));
    return this.reserveThenSpend(userId, lease);
  }

  /** Gives back what this pod holds for the user now (their socket left this pod). */
  release(userId: string): void {
    const lease = this.leases.get(userId);
    if (!lease || lease.waiting > 0 || lease.asking) return;
    this.leases.delete(userId);
    this.forget(userId, lease);
  }

  /** Gives back what this pod reserved and did not spend, and stops the idle sweep. */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    await this.returnIdle(Infinity);
  }

  private async reserveThenSpend(userId: string, lease: Lease): Promise<void> {
    lease.waiting++;
    try {
      for (;;) {
        if (lease.tokens >= 1) {
          lease.tokens--;
          lease.spent++;
          return;
        }
        const now = performance.now();
        if (lease.blockedUntil > now) throw this.limited(lease.blockedUntil - now);
        lease.asking ??= this.reserve(userId, lease);
        await lease.asking;
      }
    } finally {
      lease.waiting--;
    }
  }

  private async reserve(userId: string, lease: Lease): Promise<void> {
    const now = performance.now();
    // Size the chunk to the rate at which the last one was spent (it is all spent by now).
    if (lease.granted > 0) {
      const spentIn = Math.max(1, now - lease.grantedAt);
      lease.chunk = Math.min(this.maxChunk, Math.max(1, Math.floor((lease.granted * this.horizonMs) / spentIn)));
    }
    // Every waiting send is demand now; the chunk is what is held ahead of it.
    const want = Math.max(lease.chunk, lease.waiting);
    const spent = lease.spent + (this.unreported.get(userId)?.spent ?? 0);
    lease.spent = 0;
    this.unreported.delete(userId);
    try {
      const { granted, waitMs } = await this.bucket.reserve(userId, want, spent);
      const at = performance.now();
      lease.tokens += granted;
      lease.granted = granted;
      lease.grantedAt = at;
      if (granted === 0) lease.blockedUntil = at + Math.max(1, waitMs);
    } catch {
      lease.spent += spent;
      throw new ParleyError("UNAVAILABLE", "rate limiter unavailable; retry later");
    } finally {
      lease.asking = undefined;
    }
  }

  /** Gives back the tokens of users idle since `before` and forgets their leases. */
  private async returnIdle(before: number): Promise<void> {
    const returns: Promise<void>[] = [];
    for (const [userId, lease] of this.leases) {
      if (lease.lastUse > before || lease.waiting > 0 || lease.asking) continue;
      this.leases.delete(userId);
      returns.push(this.forget(userId, lease));
    }
    // Spends older than the bucket's lapse of held tokens no longer need reporting.
    const lapsed = performance.now() - HELD_REPORT_MS;
    for (const [userId, entry] of this.unreported) if (entry.at < lapsed) this.unreported.delete(userId);
    await Promise.all(returns);
  }

  /**
   * A lease ends: unspent tokens go back with the spends (one call); with nothing to give back,
   * the spends wait for the user's next reservation on this pod (a slow sender would otherwise
   * pay a second call per send), and lapse in the bucket if none comes.
   */
  private forget(userId: string, lease: Lease): Promise<void> {
    const unspent = Math.floor(lease.tokens);
    const earlier = this.unreported.get(userId);
    const spent = lease.spent + (earlier?.spent ?? 0);
    if (unspent <= 0) {
      if (spent > 0) this.unreported.set(userId, { spent, at: earlier?.at ?? performance.now() });
      return Promise.resolve();
    }
    this.unreported.delete(userId);
    // Best effort: tokens that cannot go back (Redis away) only make the user wait a little.
    return this.bucket.giveBack(userId, unspent, spent).catch(() => {});
  }

  private limited(ms: number): ParleyError {
    const retryAfterMs = Math.max(1, Math.ceil(ms));
    return new ParleyError("RATE_LIMITED", `too many ${this.opts.noun ?? "messages"}; retry in ${retryAfterMs} ms`, retryAfterMs);
  }
}
