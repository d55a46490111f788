import type { Redis } from "ioredis";
import { ParleyError } from "@parley/protocol";

/**
 * Member adds per user per minute, cluster-wide: a token bucket in Redis holding `perMinute`
 * tokens, refilled at `perMinute` a minute, where adding n users (or creating a conversation
 * naming n members) takes n tokens at once or none. A refused add takes nothing, so an admin
 * whose add was too big for what is left can retry a smaller one at once.
 *
 * Its own script rather than the send limiter's bucket (send/token-bucket.ts): that one hands
 * out chunks held by pods and grants fewer tokens than asked; an add needs all n or none, in one
 * call (docs/decisions/0036-membership-limits.md).
 */
export interface MemberAddLimiter {
  /** Takes `count` adds from the user's budget; throws RATE_LIMITED (with retryAfterMs) or UNAVAILABLE. */
  take(userId: string, count: number): Promise<void>;
}

// KEYS[1]: the user's bucket, a hash { t: tokens (float), ts: ms of the last refill }; missing: full.
// ARGV: capacity, refill per minute, cost. Returns { 1, 0 } when taken, { 0, ms until it would be }.
const TAKE = `
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2]) / 60000
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = capacity
if stored[1] then tokens = math.min(capacity, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * perMs) end
if tokens < cost then return { 0, math.ceil((cost - tokens) / perMs) } end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / perMs) + 1000)
return { 1, 0 }
`;

interface TakeCommand {
  parleyMemberAddTake(key: string, capacity: number, perMinute: number, cost: number): Promise<[number, number]>;
}

export function createMemberAddLimiter(redis: Redis, opts: { keyPrefix: string; perMinute: number; onRefused: () => void }): MemberAddLimiter {
  redis.defineCommand("parleyMemberAddTake", { numberOfKeys: 1, lua: TAKE });
  const command = redis as unknown as TakeCommand;
  return {
    async take(userId, count) {
      if (count === 0) return;
      // The user's id in a hash tag: one key, whichever Redis Cluster slot it lands in.
      const result = await command.parleyMemberAddTake(`${opts.keyPrefix}:{${userId}}`, opts.perMinute, opts.perMinute, count).catch((err: unknown) => {
        throw new ParleyError("UNAVAILABLE", `the member-add limit could not be checked (${err instanceof Error ? err.message : String(err)}); retry later`);
      });
      const [taken, waitMs] = result;
      if (taken === 1) return;
      opts.onRefused();
      throw new ParleyError("RATE_LIMITED", `at most ${opts.perMinute} member adds a minute`, waitMs);
    },
  };
}
