import type { Redis } from "ioredis";

/**
 * One token bucket per user in Redis, shared by every pod: `capacity` tokens at most, refilled
 * at `perSecond`. Pods take tokens out in chunks (`reserve`) and put back what they did not
 * spend (`giveBack`), so a send costs a Redis call only when its pod's chunk is used up.
 * The clock is Redis's (`TIME`), so pods with skewed clocks refill the same bucket alike.
 */
export interface TokenBucket {
  /**
   * Takes up to `want` whole tokens (fewer when the bucket holds fewer). `waitMs`: when the
   * bucket is left with less than one token, the time until it holds one again; else 0.
   */
  reserve(userId: string, want: number): Promise<{ granted: number; waitMs: number }>;
  /** Returns unspent tokens (the bucket never goes over its capacity). */
  giveBack(userId: string, tokens: number): Promise<void>;
}

// The bucket: hash { t: tokens (float), ts: ms of the last refill }. A missing bucket is a full
// one, so the key expires once it would have refilled, and idle users cost no memory.
const REFILL = `
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2]) / 1000
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = capacity
if stored[1] then
  tokens = math.min(capacity, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * perMs)
end
local function save()
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / perMs) + 1000)
end
`;

const RESERVE = `${REFILL}
local granted = math.max(0, math.min(tonumber(ARGV[3]), math.floor(tokens)))
tokens = tokens - granted
save()
local waitMs = 0
if tokens < 1 then waitMs = math.ceil((1 - tokens) / perMs) end
return { granted, waitMs }
`;

const GIVE_BACK = `${REFILL}
if not stored[1] then return 0 end
tokens = math.min(capacity, tokens + tonumber(ARGV[3]))
save()
return 0
`;

interface BucketCommands {
  parleyBucketReserve(key: string, capacity: number, perSecond: number, want: number): Promise<[number, number]>;
  parleyBucketGiveBack(key: string, capacity: number, perSecond: number, tokens: number): Promise<number>;
}

export function createTokenBucket(redis: Redis, opts: { keyPrefix: string; capacity: number; perSecond: number }): TokenBucket {
  // defineCommand: EVALSHA, with EVAL once when Redis does not know the script (after a restart).
  redis.defineCommand("parleyBucketReserve", { numberOfKeys: 1, lua: RESERVE });
  redis.defineCommand("parleyBucketGiveBack", { numberOfKeys: 1, lua: GIVE_BACK });
  const commands = redis as unknown as BucketCommands;
  // The user's id in a hash tag: a bucket is one key, whichever Redis Cluster slot it lands in.
  const key = (userId: string) => `${opts.keyPrefix}:{${userId}}`;
  return {
    async reserve(userId, want) {
      const [granted, waitMs] = await commands.parleyBucketReserve(key(userId), opts.capacity, opts.perSecond, want);
      return { granted, waitMs };
    },
    async giveBack(userId, tokens) {
      await commands.parleyBucketGiveBack(key(userId), opts.capacity, opts.perSecond, tokens);
    },
  };
}
