import type { Redis } from "ioredis";

/**
 * One token bucket per user in Redis, shared by every pod: `capacity` tokens at most, refilled
 * at `perSecond`. Pods take tokens out in chunks (`reserve`) and put back what they did not
 * spend (`giveBack`), so a send costs a Redis call only when its pod's chunk is used up.
 * The clock is Redis's (`TIME`), so pods with skewed clocks refill the same bucket alike.
 *
 * Tokens a pod holds are still the user's: the bucket counts them (`h`, held) and refills only
 * up to `capacity` minus what is held, so what the pods hold plus what the bucket holds never
 * passes `capacity` (without it, a pod holding a chunk while the bucket refilled gave a burst of
 * capacity + chunk). Pods report what they spent with their next call (`spent`); until then the
 * bucket counts it as held, which only refills the user later. Held tokens that no call has
 * touched for `heldLapseMs` are forgotten: a live pod calls well within that (a chunk lasts
 * about 5 s, idle tokens go back after 3 s), so only a dead pod's tokens lapse.
 */
export interface TokenBucket {
  /**
   * Takes up to `want` whole tokens (fewer when the bucket holds fewer). `waitMs`: when the
   * bucket is left with less than one token, the time until it holds one again; else 0.
   */
  reserve(userId: string, want: number, spent?: number): Promise<{ granted: number; waitMs: number }>;
  /** Returns unspent tokens (the bucket never goes over its capacity), and reports those spent since the pod's last call. */
  giveBack(userId: string, tokens: number, spent?: number): Promise<void>;
}

// The bucket: hash { t: tokens (float), ts: ms of the last refill, h: tokens held by pods, hs: ms
// of the last call that touched h }. A missing bucket is a full one, so the key expires once it
// would have refilled and nothing is held, and idle users cost no memory.
// ARGV: capacity, perSecond, n (wanted or given back), spent (since this pod's last call), heldLapseMs.
const REFILL = `
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2]) / 1000
local lapseMs = tonumber(ARGV[5])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local stored = redis.call('HMGET', KEYS[1], 't', 'ts', 'h', 'hs')
local held = 0
if stored[3] and now - tonumber(stored[4]) <= lapseMs then held = tonumber(stored[3]) end
-- The refill since the last call is capped by what was held meanwhile, spends not yet reported
-- included: they are reported now, and a token spent is gone, so the cap rises for later only.
local tokens = capacity - held
if stored[1] then
  tokens = math.min(capacity - held, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * perMs)
end
held = math.max(0, held - tonumber(ARGV[4]))
local function save()
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now, 'h', tostring(held), 'hs', now)
  local refillMs = math.ceil((capacity - held - tokens) / perMs)
  if held > 0 then refillMs = math.max(refillMs, lapseMs) end
  redis.call('PEXPIRE', KEYS[1], refillMs + 1000)
end
`;

const RESERVE = `${REFILL}
local granted = math.max(0, math.min(tonumber(ARGV[3]), math.floor(tokens)))
tokens = tokens - granted
held = held + granted
save()
local waitMs = 0
if tokens < 1 then waitMs = math.ceil((1 - tokens) / perMs) end
return { granted, waitMs }
`;

const GIVE_BACK = `${REFILL}
if not stored[1] then return 0 end
local back = math.min(tonumber(ARGV[3]), held)
held = held - back
tokens = math.min(capacity - held, tokens + back)
save()
return 0
`;

interface BucketCommands {
  parleyBucketReserve(key: string, capacity: number, perSecond: number, want: number, spent: number, heldLapseMs: number): Promise<[number, number]>;
  parleyBucketGiveBack(key: string, capacity: number, perSecond: number, tokens: number, spent: number, heldLapseMs: number): Promise<number>;
}

export function createTokenBucket(
  redis: Redis,
  opts: { keyPrefix: string; capacity: number; perSecond: number; /** default 10 s */ heldLapseMs?: number },
): TokenBucket {
  const lapseMs = opts.heldLapseMs ?? 10_000;
  // defineCommand: EVALSHA, with EVAL once when Redis does not know the script (after a restart).
  redis.defineCommand("parleyBucketReserve", { numberOfKeys: 1, lua: RESERVE });
  redis.defineCommand("parleyBucketGiveBack", { numberOfKeys: 1, lua: GIVE_BACK });
  const commands = redis as unknown as BucketCommands;
  // The user's id in a hash tag: a bucket is one key, whichever Redis Cluster slot it lands in.
  const key = (userId: string) => `${opts.keyPrefix}:{${userId}}`;
  return {
    async reserve(userId, want, spent = 0) {
      const [granted, waitMs] = await commands.parleyBucketReserve(key(userId), opts.capacity, opts.perSecond, want, spent, lapseMs);
      return { granted, waitMs };
    },
    async giveBack(userId, tokens, spent = 0) {
      await commands.parleyBucketGiveBack(key(userId), opts.capacity, opts.perSecond, tokens, spent, lapseMs);
    },
  };
}
