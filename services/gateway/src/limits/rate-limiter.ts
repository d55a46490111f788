import { ParleyError } from "@parley/protocol";
import type { BucketDemand, BucketGrant, TakeTokens } from "./token-buckets.js";
import type { LimitClass } from "./limit-classes.js";

/** One class's budget: `burst` at once, `perSecond` sustained. */
export interface Budget {
  perSecond: number;
  burst: number;
}

export interface RateLimiterOptions {
  /** `<prefix>:<class>:{<userId>}` (libs/bus keyspace `rateLimitPrefix`). */
  keyPrefix: string;
  budgets: Readonly<Record<LimitClass, Budget>>;
  /** A call Redis has not answered within this fails its events with UNAVAILABLE (below the contract's 2 s). */
  timeoutMs: number;
  /** Buckets in one call at most (bounds the script's run time in Redis). */
  maxPerCall?: number;
  onRefused?: (cls: LimitClass, where: "redis" | "local") => void;
  onCall?: (buckets: number) => void;
}

/** What a class's user-facing check looks like (the send and change services take one of these). */
export interface UserLimit {
  /** Counts one attempt of the user; throws RATE_LIMITED (with retryAfterMs) or UNAVAILABLE. */
  consume(userId: string): Promise<void>;
}

interface Waiter {
  resolve: () => void;
  reject: (err: ParleyError) => void;
}

interface Pending {
  demand: BucketDemand;
  cls: LimitClass;
  waiters: Waiter[];
}

/**
 * Per-user limits for every class of event, cluster-wide: each (class, user) is a token bucket
 * in Redis (token-buckets.ts), exact across pods, sockets and HTTP. The attempts of one
 * event-loop turn share one Redis call, however many users and classes they belong to; while a
 * call is out the next turn's attempts gather, so under load a call carries a whole window of
 * them (as the send buffer does with stream entries). A bucket found empty is remembered
 * until it holds a token again: meanwhile its user is refused here, so a flood costs Redis
 * nothing. Why: docs/decisions/0025-one-call-token-buckets.md.
 */
export class RateLimiter {
  private pending = new Map<string, Pending>();
  /** Bucket key → when (performance.now()) it holds a token again. */
  private readonly emptyUntil = new Map<string, number>();
  private scheduled = false;
  private inFlight = false;
  private readonly sweep: NodeJS.Timeout;
  private readonly maxPerCall: number;

  constructor(
    private readonly take: TakeTokens,
    private readonly opts: RateLimiterOptions,
  ) {
    this.maxPerCall = opts.maxPerCall ?? 1_000;
    // Forget empty buckets that have refilled (a user refused once and gone since).
    this.sweep = setInterval(() => {
      const now = performance.now();
      for (const [key, until] of this.emptyUntil) if (until <= now) this.emptyUntil.delete(key);
    }, 10_000);
    this.sweep.unref();
  }

  /** The check of one class, for a service that counts its own attempts. */
  for(cls: LimitClass): UserLimit {
    return { consume: (userId) => this.consume(cls, userId) };
  }

  consume(cls: LimitClass, userId: string): Promise<void> {
    const key = `${this.opts.keyPrefix}:${cls}:{${userId}}`;
    const until = this.emptyUntil.get(key);
    if (until !== undefined) {
      const now = performance.now();
      if (until > now) {
        this.opts.onRefused?.(cls, "local");
        return Promise.reject(limited(cls, until - now));
      }
      this.emptyUntil.delete(key);
    }
    return new Promise<void>((resolve, reject) => {
      let entry = this.pending.get(key);
      if (!entry) {
        const budget = this.opts.budgets[cls];
        entry = { cls, demand: { key, want: 0, capacity: budget.burst, perSecond: budget.perSecond }, waiters: [] };
        this.pending.set(key, entry);
      }
      entry.demand.want++;
      entry.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Refuses what waits (UNAVAILABLE) and stops the sweep. */
  close(): void {
    clearInterval(this.sweep);
    const left = this.pending;
    this.pending = new Map();
    for (const entry of left.values()) for (const w of entry.waiters) w.reject(new ParleyError("UNAVAILABLE", "the gateway is shutting down; retry later"));
  }

  /** Buckets remembered as empty (users being refused locally). */
  get emptyBuckets(): number {
    return this.emptyUntil.size;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.inFlight || this.pending.size === 0) return;
    let batch: Pending[];
    if (this.pending.size <= this.maxPerCall) {
      batch = [...this.pending.values()];
      this.pending = new Map();
    } else {
      batch = [];
      for (const [key, entry] of this.pending) {
        batch.push(entry);
        this.pending.delete(key);
        if (batch.length === this.maxPerCall) break;
      }
    }
    this.inFlight = true;
    const sent = performance.now();
    this.opts.onCall?.(batch.length);
    let settled = false;
    const timer = setTimeout(() => finish(new ParleyError("UNAVAILABLE", "the rate limiter did not answer in time; retry later")), this.opts.timeoutMs);
    const finish = (outcome: BucketGrant[] | ParleyError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.inFlight = false;
      if (outcome instanceof ParleyError) {
        for (const entry of batch) for (const w of entry.waiters) w.reject(outcome);
      } else {
        batch.forEach((entry, i) => this.settle(entry, outcome[i]!, sent));
      }
      if (this.pending.size > 0) this.schedule();
    };
    this.take(batch.map((e) => e.demand)).then(finish, () =>
      finish(new ParleyError("UNAVAILABLE", "the rate limiter is out of reach; retry later")),
    );
  }

  private settle(entry: Pending, grant: BucketGrant, sent: number): void {
    entry.waiters.forEach((w, i) => {
      if (i < grant.granted) return w.resolve();
      this.opts.onRefused?.(entry.cls, "redis");
      w.reject(limited(entry.cls, grant.waitMs));
    });
    // Empty from the script's run until `waitMs` later, whatever other pods do (they only take).
    // Counted from when the call left, which is no later than the run: never refuses too long.
    if (grant.waitMs > 0) this.emptyUntil.set(entry.demand.key, sent + grant.waitMs);
  }
}

const NOUNS: Record<LimitClass, string> = {
  send: "messages",
  changes: "edits, deletions and reactions",
  reads: "reads",
  search: "searches",
  typing: "typing events",
  receipts: "receipts",
  conversations: "conversation changes",
  auth: "token refreshes",
};

function limited(cls: LimitClass, ms: number): ParleyError {
  const retryAfterMs = Math.max(1, Math.ceil(ms));
  return new ParleyError("RATE_LIMITED", `too many ${NOUNS[cls]}; retry in ${retryAfterMs} ms`, retryAfterMs);
}
