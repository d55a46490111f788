import type { Redis } from "ioredis";
import { redisClusterSlot } from "@parley/bus";

/** One bucket's share of a call: `want` tokens from the bucket at `key`, which holds `capacity` and refills at `perSecond`. */
export interface BucketDemand {
  key: string;
  want: number;
  capacity: number;
  perSecond: number;
}

/** What a bucket gave: `granted` whole tokens; `waitMs` until it holds one again (0 when it still does). */
export interface BucketGrant {
  granted: number;
  waitMs: number;
}

/**
 * Token buckets in Redis, many per call: each bucket holds at most `capacity` tokens and
 * refills at `perSecond`, on Redis's clock (`TIME`), so every pod draws from the same
 * buckets alike whatever their own clocks say. Nothing is held by pods: a token taken is
 * spent, so a bucket is exact across pods, sockets and HTTP. Why one call for many buckets:
 * docs/decisions/0025-one-call-token-buckets.md.
 */
export type TakeTokens = (demands: readonly BucketDemand[]) => Promise<BucketGrant[]>;

// KEYS[i]: one bucket, a hash { t: tokens (float), ts: ms of the last refill }. A missing
//   bucket is a full one, so a key expires once it would have refilled: idle users cost nothing.
// ARGV[3i-2], ARGV[3i-1], ARGV[3i]: tokens wanted, capacity, refill per second, for KEYS[i].
// Returns { granted1, waitMs1, granted2, waitMs2, ... }.
const TAKE = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  local want = tonumber(ARGV[3 * i - 2])
  local capacity = tonumber(ARGV[3 * i - 1])
  local perMs = tonumber(ARGV[3 * i]) / 1000
  local stored = redis.call('HMGET', key, 't', 'ts')
  local tokens = capacity
  if stored[1] then
    tokens = math.min(capacity, tonumber(stored[1]) + math.max(0, now - tonumber(stored[2])) * perMs)
  end
  local granted = math.max(0, math.min(want, math.floor(tokens)))
  tokens = tokens - granted
  redis.call('HSET', key, 't', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', key, math.ceil((capacity - tokens) / perMs) + 1000)
  local waitMs = 0
  if tokens < 1 then waitMs = math.ceil((1 - tokens) / perMs) end
  out[2 * i - 1] = granted
  out[2 * i] = waitMs
end
return out
`;

interface TakeCommand {
  parleyTakeTokens(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
}

/**
 * The demands' positions grouped by their key's Redis Cluster slot, in first-seen order: a
 * script's keys must share a slot on a cluster (else CROSSSLOT), and a bucket's key carries
 * its user's id as hash tag, so each user's buckets are one group.
 */
export function groupBySlot(demands: readonly BucketDemand[]): number[][] {
  const groups = new Map<number, number[]>();
  demands.forEach((d, i) => {
    const slot = redisClusterSlot(d.key);
    const group = groups.get(slot);
    if (group) group.push(i);
    else groups.set(slot, [i]);
  });
  return [...groups.values()];
}

/**
 * The buckets behind `redis`. On one server (or a Sentinel's master) one script call takes
 * every demand of the turn; on a Redis Cluster one call per slot (the user's), all at once.
 * Before this grouping, two users' sends in one turn on a cluster made the call fail
 * (CROSSSLOT) and both were answered UNAVAILABLE ("the rate limiter is out of reach"):
 * found by the cluster's spread test (tests/cluster topologies.test.ts).
 */
export function createTokenBuckets(redis: Redis): TakeTokens {
  // defineCommand: EVALSHA, with EVAL once when Redis does not know the script (after a restart).
  if (!("parleyTakeTokens" in redis)) redis.defineCommand("parleyTakeTokens", { lua: TAKE });
  const command = redis as unknown as TakeCommand;
  const take = async (demands: readonly BucketDemand[]): Promise<BucketGrant[]> => {
    const args: (string | number)[] = demands.map((d) => d.key);
    for (const d of demands) args.push(d.want, d.capacity, d.perSecond);
    const reply = await command.parleyTakeTokens(demands.length, ...args);
    return demands.map((_, i) => ({ granted: Number(reply[2 * i]), waitMs: Number(reply[2 * i + 1]) }));
  };
  const isCluster = (redis as unknown as { isCluster?: boolean }).isCluster === true;
  return async (demands) => {
    if (demands.length === 0) return [];
    if (!isCluster) return take(demands);
    const grants = new Array<BucketGrant>(demands.length);
    await Promise.all(
      groupBySlot(demands).map(async (positions) => {
        const granted = await take(positions.map((i) => demands[i]!));
        positions.forEach((i, k) => (grants[i] = granted[k]!));
      }),
    );
    return grants;
  };
}
