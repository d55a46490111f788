import type { Redis } from "ioredis";
import type { PersistPartitionKeys } from "./keyspace.js";

/**
 * How far behind the persist path is, in one round trip: the age of the oldest entry that is
 * not yet committed and that someone is working on, and the stream's size in bytes. Gateways
 * sample it for admission control (why this signal: docs/decisions/0020-admission-on-oldest-uncommitted-entry.md).
 *
 * KEYS: 1 the persist stream
 *       2 the persisters' marks (hash: consumer → XPENDING start of its uncommitted entries)
 * ARGV: 1 the persisters' consumer group
 *       2 ms: a consumer that has not touched the stream for this long is stalled (crashed, or
 *         stuck); its pending entries wait for the reclaimer and are left out, so one dead
 *         persister does not make every gateway refuse until its entries are claimed
 * Returns { ageMs, bytes }: ageMs is 0 when nothing waits. Ages come from Redis' own clock
 * (`TIME` against the entry ids it made), so the gateways' clocks do not matter.
 *
 * The oldest waiting entry is the oldest of: the first entry no persister has read yet (after
 * the group's last-delivered id; the first entry of the stream before any persister created
 * the group), and each live consumer's oldest pending entry not yet committed (its PEL is
 * ordered by id). A persister keeps a committed entry pending until the notify hand-off holding
 * its messages has left (up to 250 ms); it publishes, every few milliseconds, where its
 * uncommitted entries start (stream/uncommitted-mark.ts in the persister), and XPENDING starts
 * there. A mark is at most one period old: entries read since are above it and counted; entries
 * committed since are still counted (conservative). A consumer without a mark counts from `-`.
 * MEMORY USAGE samples a bounded number of the stream's nodes (its default SAMPLES 5), so the
 * cost does not grow with the backlog.
 */
export const PERSIST_BACKLOG_LUA = `
local stream = KEYS[1]
if redis.call('EXISTS', stream) == 0 then return { 0, 0 } end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local bytes = redis.call('MEMORY', 'USAGE', stream) or 0
local oldest = nil
local function consider(id)
  if not id then return end
  local ms = tonumber(string.sub(id, 1, string.find(id, '-', 1, true) - 1))
  if oldest == nil or ms < oldest then oldest = ms end
end
local function fields(row)
  local f = {}
  for i = 1, #row, 2 do f[row[i]] = row[i + 1] end
  return f
end
local lastDelivered = nil
local pending = 0
for _, row in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
  local g = fields(row)
  if g['name'] == ARGV[1] then
    lastDelivered = g['last-delivered-id']
    pending = tonumber(g['pending'])
  end
end
local first
if lastDelivered == nil then
  first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
else
  first = redis.call('XRANGE', stream, '(' .. lastDelivered, '+', 'COUNT', 1)
end
if first[1] then consider(first[1][1]) end
if pending > 0 then
  for _, row in ipairs(redis.call('XINFO', 'CONSUMERS', stream, ARGV[1])) do
    local c = fields(row)
    if tonumber(c['pending']) > 0 and tonumber(c['idle']) < tonumber(ARGV[2]) then
      local from = redis.call('HGET', KEYS[2], c['name'])
      if not from then from = '-' end
      local held = redis.call('XPENDING', stream, ARGV[1], from, '+', 1, c['name'])
      if held[1] then consider(held[1][1]) end
    end
  end
end
local age = 0
if oldest ~= nil and now > oldest then age = now - oldest end
return { age, bytes }
`;

export interface PersistBacklog {
  /** Age (ms) of the oldest entry not yet committed by a live persister or not yet read; 0 when none. */
  ageMs: number;
  /** The stream's memory in Redis (MEMORY USAGE, sampled). */
  bytes: number;
}

type WithBacklogCommand = { parleyPersistBacklog(stream: string, marks: string, group: string, stalledMs: number): Promise<[number, number]> };

/** Reads one persist partition's backlog (one EVALSHA; see PERSIST_BACKLOG_LUA above). */
export async function readPersistBacklog(redis: Redis, partition: PersistPartitionKeys, stalledConsumerMs: number): Promise<PersistBacklog> {
  // defineCommand: EVALSHA, with EVAL once when Redis does not know the script (after a restart).
  if (!("parleyPersistBacklog" in redis)) redis.defineCommand("parleyPersistBacklog", { numberOfKeys: 2, lua: PERSIST_BACKLOG_LUA });
  const [ageMs, bytes] = await (redis as unknown as WithBacklogCommand).parleyPersistBacklog(
    partition.stream,
    partition.uncommitted,
    partition.group,
    stalledConsumerMs,
  );
  return { ageMs: Number(ageMs), bytes: Number(bytes) };
}
