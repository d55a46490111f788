import type { Redis } from "ioredis";
import { z } from "zod";
import type { Keyspace } from "@parley/bus";

/**
 * Counts new messages into the (conversation, recipient) collapse window.
 * KEYS[1]: the pair's hash (keyspace.notify.pending).
 * ARGV[1]: latest message (JSON), ARGV[2]: now (ms), ARGV[3]: re-arm after (ms),
 * ARGV[4]: TTL of the hash (s), ARGV[5..]: the new messages' seqs, ascending.
 * Returns { status, window }: status 1 = a window was opened, 2 = re-arm the open window
 * (its job may have been lost: a re-run of a hand-off, or armed long ago), 0 = folded into
 * the open window, -1 = nothing to do. Seqs at or below `lastSeq` were counted before (a
 * re-run of the same hand-off) and are not counted again.
 */
const COLLAPSE_ADD = `
local last = tonumber(redis.call('HGET', KEYS[1], 'lastSeq') or '0')
local added = 0
local top = nil
local first = nil
for i = 5, #ARGV do
  if tonumber(ARGV[i]) > last then
    added = added + 1
    top = ARGV[i]
    if added == 1 then first = ARGV[i] end
  end
end
local open = tonumber(redis.call('HGET', KEYS[1], 'count') or '0') > 0
if added == 0 then
  if open then return {2, redis.call('HGET', KEYS[1], 'window')} end
  return {-1, '0'}
end
redis.call('HINCRBY', KEYS[1], 'count', added)
redis.call('HSET', KEYS[1], 'lastSeq', top, 'latest', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
if not open then
  redis.call('HSET', KEYS[1], 'window', first, 'armedAt', ARGV[2])
  return {1, first}
end
if tonumber(ARGV[2]) - tonumber(redis.call('HGET', KEYS[1], 'armedAt') or '0') > tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'armedAt', ARGV[2])
  return {2, redis.call('HGET', KEYS[1], 'window')}
end
return {0, redis.call('HGET', KEYS[1], 'window')}
`;

/**
 * Takes a window for its push job. The first call snapshots it (count, lastSeq, latest) into a
 * field named after the window and resets the count, so messages arriving from now on open a
 * new window (a new job); retries of the same job get the same snapshot.
 * KEYS[1]: the pair's hash. ARGV[1]: the window (its first seq), ARGV[2]: TTL of the hash (s).
 * Returns the snapshot (JSON) or false when the window is gone (already pushed, or unknown).
 */
const COLLAPSE_TAKE = `
local field = 'snap:' .. ARGV[1]
local snap = redis.call('HGET', KEYS[1], field)
if snap then return snap end
if redis.call('HGET', KEYS[1], 'window') ~= ARGV[1] then return false end
local count = redis.call('HGET', KEYS[1], 'count') or '0'
if tonumber(count) == 0 then return false end
snap = '{"count":' .. count .. ',"lastSeq":' .. redis.call('HGET', KEYS[1], 'lastSeq') .. ',"latest":' .. redis.call('HGET', KEYS[1], 'latest') .. '}'
redis.call('HSET', KEYS[1], field, snap, 'count', 0)
redis.call('HDEL', KEYS[1], 'window', 'armedAt')
redis.call('EXPIRE', KEYS[1], ARGV[2])
return snap
`;

export const LatestMessageSchema = z.object({
  messageId: z.string(),
  seq: z.number().int().positive(),
  senderId: z.string(),
  senderName: z.string(),
  kind: z.enum(["text", "image", "file", "audio", "video", "system"]),
  preview: z.string(),
  createdAt: z.string(),
});
export type LatestMessage = z.infer<typeof LatestMessageSchema>;

const SnapshotSchema = z.object({ count: z.number().int().positive(), lastSeq: z.number().int().positive(), latest: LatestMessageSchema });
export type WindowSnapshot = z.infer<typeof SnapshotSchema>;

export type AddResult = { status: "opened" | "rearm" | "collapsed" | "none"; window: number };

interface CollapseCommands {
  parleyCollapseAdd(key: string, ...args: (string | number)[]): Promise<[number, string]>;
  parleyCollapseTake(key: string, window: number, ttl: number): Promise<string | null>;
}

/**
 * The collapse windows of offline notifications, in Redis so every delivery replica shares them.
 * A pair's hash lives for `ttlSeconds` after its last change: long enough to recognise a
 * re-run hand-off, short enough that idle pairs cost nothing.
 */
export class CollapseStore {
  private readonly redis: Redis & CollapseCommands;

  constructor(
    redis: Redis,
    private readonly keyspace: Keyspace,
    private readonly opts: { rearmAfterMs: number; ttlSeconds: number },
  ) {
    if (!("parleyCollapseAdd" in redis)) {
      redis.defineCommand("parleyCollapseAdd", { numberOfKeys: 1, lua: COLLAPSE_ADD });
      redis.defineCommand("parleyCollapseTake", { numberOfKeys: 1, lua: COLLAPSE_TAKE });
    }
    this.redis = redis as Redis & CollapseCommands;
  }

  /** Counts each pair's new messages in one round trip; answers per pair, in order. */
  async addMany(entries: { conversationId: string; userId: string; seqs: number[]; latest: LatestMessage }[]): Promise<AddResult[]> {
    if (entries.length === 0) return [];
    // defineCommand adds the scripts to pipelines too; ioredis' types only know the built-in commands.
    const pipeline = this.redis.pipeline() as unknown as { parleyCollapseAdd: CollapseCommands["parleyCollapseAdd"]; exec(): Promise<[Error | null, unknown][] | null> };
    const now = Date.now();
    for (const e of entries) {
      pipeline.parleyCollapseAdd(
        this.keyspace.notify.pending(e.conversationId, e.userId),
        JSON.stringify(e.latest),
        now,
        this.opts.rearmAfterMs,
        this.opts.ttlSeconds,
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
