import type { Redis } from "ioredis";
import { BurstyRateLimiter, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { ParleyError } from "@parley/protocol";

export interface SendRateLimiter {
  /** Counts one send attempt for the user; throws RATE_LIMITED (with retryAfterMs) or UNAVAILABLE. */
  consume(userId: string): Promise<void>;
}

/**
 * Per-user send limit shared by every pod through Redis (rate-limiter-flexible): `perSecond`
 * sustained, with up to `burst` at once. The burst allowance refills over 10 s, so a client
 * that bursts cannot keep sending faster than the rate for long.
 */
export function createSendRateLimiter(
  redis: Redis,
  opts: { perSecond: number; burst: number; keyPrefix: string; /** What is counted, for the refusal's message. */ noun?: string },
): SendRateLimiter {
  const prefix = opts.keyPrefix;
  const limiter = new BurstyRateLimiter(
    new RateLimiterRedis({ storeClient: redis, keyPrefix: prefix, points: opts.perSecond, duration: 1 }),
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}:burst`,
      points: Math.max(1, opts.burst - opts.perSecond),
      duration: 10,
    }),
  );
  return {
    async consume(userId) {
      try {
        await limiter.consume(userId, 1);
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          const retryAfterMs = Math.max(1, Math.ceil(err.msBeforeNext));
          throw new ParleyError("RATE_LIMITED", `too many ${opts.noun ?? "messages"}; retry in ${retryAfterMs} ms`, retryAfterMs);
        }
        throw new ParleyError("UNAVAILABLE", "rate limiter unavailable; retry later");
      }
    },
  };
}
