import type { Redis } from "ioredis";
import { z } from "zod";
import type { Keyspace } from "@parley/bus";
import { pipelineAcrossSlots } from "@parley/runtime";

/**
 * Counts new messages into the (conversation, recipient) collapse window. Each seq counts once,
 * whatever order batches arrive in and however often one is re-run: a seq is counted when it
 * enters the pair's seen set. Seqs counted longer ago than the horizon leave the set and the
 * highest of them becomes the floor, at or below which every seq counts as seen: the set stays
 * small, and a re-run later than the horizon still counts nothing twice.
 * KEYS[1]: the pair's hash (keyspace.notify.pending), KEYS[2]: its seen set (keyspace.notify.seen).
 * ARGV[1]: now (ms), ARGV[2]: re-arm after (ms), ARGV[3]: TTL of both keys (s),
 * ARGV[4]: the seen set's horizon (ms), ARGV[5..]: the new messages' seqs, ascending.
 * Returns { status, window }: status 1 = a window was opened (named by its first seq), 2 =
 * re-arm the open window (its job may have been lost: a re-run of a hand-off, or armed long
 * ago), 0 = folded into the open window, -1 = nothing to do.
 */
const COLLAPSE_ADD = `
local now = tonumber(ARGV[1])
local cutoff = now - tonumber(ARGV[4])
local floor = tonumber(redis.call('HGET', KEYS[1], 'floor') or '0')
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', cutoff)
if #old > 0 then
  for _, s in ipairs(old) do
    if tonumber(s) > floor then floor = tonumber(s) end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', cutoff)
  redis.call('HSET', KEYS[1], 'floor', floor)
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
local added = {}
for i = 5, #ARGV do
  if tonumber(ARGV[i]) > floor and redis.call('ZADD', KEYS[2], 'NX', now, ARGV[i]) == 1 then
    added[#added + 1] = ARGV[i]
  end
end
local open = tonumber(redis.call('HGET', KEYS[1], 'count') or '0') > 0
if #added == 0 then
  if open then return {2, redis.call('HGET', KEYS[1], 'window')} end
  return {-1, '0'}
end
redis.call('HINCRBY', KEYS[1], 'count', #added)
local seqs = table.concat(added, ',')
if open then seqs = redis.call('HGET', KEYS[1], 'seqs') .. ',' .. seqs end
redis.call('HSET', KEYS[1], 'seqs', seqs)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
if not open then
  redis.call('HSET', KEYS[1], 'window', added[1], 'armedAt', now)
  return {1, added[1]}
end
if now - tonumber(redis.call('HGET', KEYS[1], 'armedAt') or '0') > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'armedAt', now)
  return {2, redis.call('HGET', KEYS[1], 'window')}
end
return {0, redis.call('HGET', KEYS[1], 'window')}
`;

/**
 * Takes a window for its push job. The first call snapshots it (the seqs it counted) into a
 * field named after the window and empties it, so messages arriving from now on open a new
 * window (a new job); retries of the same job get the same snapshot.
 * KEYS[1]: the pair's hash. ARGV[1]: the window (its first seq), ARGV[2]: TTL of the hash (s).
 * Returns the snapshot (JSON) or false when the window is gone (already pushed, or unknown).
 */
const COLLAPSE_TAKE = `
local field = 'snap:' .. ARGV[1]
local snap = redis.call('HGET', KEYS[1], field)
if snap then return snap end
if redis.call('HGET', KEYS[1], 'window') ~= ARGV[1] then return false end
if tonumber(redis.call('HGET', KEYS[1], 'count') or '0') == 0 then return false end
snap = '{"seqs":[' .. redis.call('HGET', KEYS[1], 'seqs') .. ']}'
redis.call('HSET', KEYS[1], field, snap, 'count', 0)
redis.call('HDEL', KEYS[1], 'window', 'armedAt', 'seqs')
redis.call('EXPIRE', KEYS[1], ARGV[2])
return snap
`;

/** A taken window: the seqs counted into it (distinct; the push reads them from Postgres). */
const SnapshotSchema = z.object({ seqs: z.array(z.number().int().positive()).min(1) });
export type WindowSnapshot = z.infer<typeof SnapshotSchema>;

export type AddResult = { status: "opened" | "rearm" | "collapsed" | "none"; window: number };

interface CollapseCommands {
  parleyCollapseAdd(pending: string, seen: string, ...args: (string | number)[]): Promise<[number, string]>;
  parleyCollapseTake(key: string, window: number, ttl: number): Promise<string | null>;
}

/**
 * The collapse windows of offline notifications, in Redis so every delivery replica shares them.
 * A pair's keys live for `ttlSeconds` after their last change: long enough to recognise a
 * re-run hand-off, short enough that idle pairs cost nothing. A seq stays in the seen set for
 * `seenHorizonMs`: longer than a hand-off job can be overtaken or retried, so counts are exact
 * with any number of replicas and any concurrency (one later than that may be left out).
 */
export class CollapseStore {
  private readonly redis: Redis & CollapseCommands;

  constructor(
    redis: Redis,
    private readonly keyspace: Keyspace,
    private readonly opts: { rearmAfterMs: number; ttlSeconds: number; seenHorizonMs: number },
  ) {
    if (!("parleyCollapseAdd" in redis)) {
      redis.defineCommand("parleyCollapseAdd", { numberOfKeys: 2, lua: COLLAPSE_ADD });
      redis.defineCommand("parleyCollapseTake", { numberOfKeys: 1, lua: COLLAPSE_TAKE });
    }
    this.redis = redis as Redis & CollapseCommands;
  }

  /** Counts each pair's new messages in one round trip; answers per pair, in order. */
  async addMany(entries: { conversationId: string; userId: string; seqs: number[] }[]): Promise<AddResult[]> {
    if (entries.length === 0) return [];
    // defineCommand adds the scripts to pipelines too; ioredis' types only know the built-in commands.
    // Each pair has its own hash tag: on a cluster the scripts go one by one (pipelineAcrossSlots).
    const pipeline = pipelineAcrossSlots(this.redis) as unknown as { parleyCollapseAdd: CollapseCommands["parleyCollapseAdd"]; exec(): Promise<[Error | null, unknown][] | null> };
    const now = Date.now();
    for (const e of entries) {
      pipeline.parleyCollapseAdd(
        this.keyspace.notify.pending(e.conversationId, e.userId),
        this.keyspace.notify.seen(e.conversationId, e.userId),
        now,
        this.opts.rearmAfterMs,
        this.opts.ttlSeconds,
        this.opts.seenHorizonMs,
        ...e.seqs,
      );
    }
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, reply]) => {
      if (err) throw err;
      const [status, window] = reply as [number, string];
      const name = status === 1 ? "opened" : status === 2 ? "rearm" : status === 0 ? "collapsed" : "none";
      return { status: name, window: Number(window) };
    });
  }

  /** The window's snapshot for its push job (the same one on every retry), or undefined when it is gone. */
  async take(conversationId: string, userId: string, window: number): Promise<WindowSnapshot | undefined> {
    const raw = await this.redis.parleyCollapseTake(this.keyspace.notify.pending(conversationId, userId), window, this.opts.ttlSeconds);
    if (raw === null) return undefined;
    return SnapshotSchema.parse(JSON.parse(raw));
  }

  /** Forgets a pushed (or given up) window's snapshot. */
  async done(conversationId: string, userId: string, window: number): Promise<void> {
    await this.redis.hdel(this.keyspace.notify.pending(conversationId, userId), `snap:${window}`);
  }
}
