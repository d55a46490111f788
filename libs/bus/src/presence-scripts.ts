/**
 * The presence bookkeeping's Lua scripts. Every script keeps one invariant, atomically:
 *
 *   counts[user] = Σ over live pods p of podCounts(p)[user]   (absent = 0)
 *
 * and marks a user dirty whenever their count crosses 0 in either direction, so the
 * delivery service can announce the change. Every time comes from Redis' own clock (`TIME`):
 * pods with skewed clocks neither sweep each other by mistake nor disagree on a user's
 * `lastSeen` (an ISO 8601 string made here, so its text order is time order).
 *
 * All keys share the `{presence}` hash tag, so every script runs in one Redis Cluster slot.
 */

/** Redis' clock: liveness and lastSeen are decided by one clock, whatever the pods' clocks say. */
const CLOCK = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- ms since the epoch as Date#toISOString writes it (days to civil date: H. Hinnant's algorithm).
local function isoOf(ms)
  local s = math.floor(ms / 1000)
  local days = math.floor(s / 86400)
  local rem = s - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', y, m, d, math.floor(rem / 3600), math.floor((rem % 3600) / 60), rem % 60, ms - s * 1000)
end
`;

/** Shared helper, prepended to the scripts that move counts. */
const ADJUST = `${CLOCK}
-- Moves a user's cluster-wide count by d; marks them dirty when they cross 0.
local function adjust(counts, dirty, lastSeen, user, d, seenIso)
  local n = redis.call('HINCRBY', counts, user, d)
  local before = n - d
  if n <= 0 then
    redis.call('HDEL', counts, user)
    if before > 0 then
      redis.call('SADD', dirty, user)
      redis.call('HSET', lastSeen, user, seenIso)
    end
  elseif before <= 0 then
    redis.call('SADD', dirty, user)
  end
  return n
end
`;

/**
 * A socket of `user` connected on `pod`.
 * KEYS: 1 pods zset, 2 podCounts(pod), 3 counts, 4 dirty, 5 lastSeen
 * ARGV: 1 podId, 2 userId
 * Returns { cluster-wide count, pod known (1) or unknown (0: swept or never registered) }.
 * An unknown pod is registered with the current time so its contribution can be swept; the
 * gateway then re-registers all of its sockets (resync).
 */
export const CONNECT_LUA = `${ADJUST}
local known = 1
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], nowMs(), ARGV[1])
  known = 0
end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
local n = adjust(KEYS[3], KEYS[4], KEYS[5], ARGV[2], 1, '')
return { n, known }
`;

/**
 * A socket of `user` on `pod` disconnected.
 * KEYS: 1 pods zset, 2 podCounts(pod), 3 counts, 4 dirty, 5 lastSeen
 * ARGV: 1 podId, 2 userId (lastSeen, if this was the user's last socket: Redis' now)
 * Returns { cluster-wide count (-1: the pod held nothing of this user), pod known (1|0) }.
 * Only what this pod contributed is taken back, so a pod that was swept meanwhile cannot
 * push another pod's users offline.
 */
export const DISCONNECT_LUA = `${ADJUST}
local known = redis.call('ZSCORE', KEYS[1], ARGV[1]) and 1 or 0
local own = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if own <= 0 then return { -1, known } end
if own == 1 then redis.call('HDEL', KEYS[2], ARGV[2]) else redis.call('HINCRBY', KEYS[2], ARGV[2], -1) end
local n = adjust(KEYS[3], KEYS[4], KEYS[5], ARGV[2], -1, isoOf(nowMs()))
return { n, known }
`;

/**
 * A pod's heartbeat: refreshes its score only if it is still registered.
 * KEYS: 1 pods zset   ARGV: 1 podId
 * Returns 1, or 0 when the pod is unknown (it was swept: the gateway must resync).
 */
export const HEARTBEAT_LUA = `${ADJUST}
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], nowMs(), ARGV[1])
return 1
`;

/**
 * Replaces a pod's contribution with a snapshot of its live sockets (idempotent: running it
 * twice with the same snapshot changes nothing the second time), and registers the pod.
 * KEYS: 1 pods zset, 2 podCounts(pod), 3 counts, 4 dirty, 5 lastSeen
 * ARGV: 1 podId, then pairs userId, sockets (sockets > 0); lastSeen of users it drops: Redis' now
 * Returns the number of users whose contribution changed.
 */
export const RESYNC_LUA = `${ADJUST}
local seen = isoOf(nowMs())
local want = {}
for i = 2, #ARGV, 2 do want[ARGV[i]] = tonumber(ARGV[i + 1]) end
local changed = 0
local old = redis.call('HGETALL', KEYS[2])
for i = 1, #old, 2 do
  local user, had = old[i], tonumber(old[i + 1])
  local w = want[user] or 0
  if w ~= had then
    adjust(KEYS[3], KEYS[4], KEYS[5], user, w - had, seen)
    if w > 0 then redis.call('HSET', KEYS[2], user, w) else redis.call('HDEL', KEYS[2], user) end
    changed = changed + 1
  end
  want[user] = nil
end
for i = 2, #ARGV, 2 do
  local user = ARGV[i]
  local w = want[user]
  if w and w > 0 then
    adjust(KEYS[3], KEYS[4], KEYS[5], user, w, seen)
    redis.call('HSET', KEYS[2], user, w)
    changed = changed + 1
    want[user] = nil
  end
end
redis.call('ZADD', KEYS[1], nowMs(), ARGV[1])
return changed
`;

/**
 * Takes a pod's whole contribution back and forgets the pod: a drained pod on its way out,
 * or (with a TTL) a pod whose heartbeat stopped.
 * KEYS: 1 pods zset, 2 podCounts(pod), 3 counts, 4 dirty, 5 lastSeen
 * ARGV: 1 podId, 2 TTL in ms or '' (unconditional)
 * Its users' lastSeen: the pod's last heartbeat when swept (TTL given), Redis' now otherwise.
 * Returns the number of users released, or -1 when the TTL was given and the pod turned out
 * to be alive (it heartbeated after the sweeper looked) or already gone.
 */
export const RELEASE_LUA = `${ADJUST}
local seen = isoOf(nowMs())
if ARGV[2] ~= '' then
  local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if not score or tonumber(score) > nowMs() - tonumber(ARGV[2]) then return -1 end
  seen = isoOf(tonumber(score))
end
local old = redis.call('HGETALL', KEYS[2])
for i = 1, #old, 2 do
  adjust(KEYS[3], KEYS[4], KEYS[5], old[i], -tonumber(old[i + 1]), seen)
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return #old / 2
`;

/**
 * Pods whose last heartbeat is older than the TTL, by Redis' clock.
 * KEYS: 1 pods zset   ARGV: 1 TTL in ms, 2 at most this many
 * Returns [podId, lastBeatMs, podId, lastBeatMs, ...].
 */
export const EXPIRED_LUA = `${ADJUST}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs() - tonumber(ARGV[1]), 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
`;

/**
 * Takes up to N dirty users and decides, for each, whether their status changed since it was
 * last announced (`announced` holds the users last announced online). The decision and the
 * record of it happen in one step, so several delivery replicas never announce one change
 * twice, and a user who went offline and came back within one window announces nothing.
 * A user gone offline after the cutoff (a grace period) is put back as dirty, undecided:
 * if they reconnect within the grace, however the windows fall, nothing is announced.
 * KEYS: 1 dirty, 2 counts, 3 announced, 4 lastSeen
 * ARGV: 1 at most this many users, 2 the grace in ms (0 = none): users whose lastSeen is
 *       later than Redis' now minus it are deferred (ISO 8601 compared as text: every lastSeen
 *       is written by isoOf, where text order is time order)
 * Returns { unchanged, { userId, 'online'|'offline', lastSeen or '', ... }, deferred }.
 */
export const TAKE_LUA = `${CLOCK}
local cutoff = ''
if tonumber(ARGV[2]) > 0 then cutoff = isoOf(nowMs() - tonumber(ARGV[2])) end
local users = redis.call('SPOP', KEYS[1], tonumber(ARGV[1]))
local out = {}
local unchanged = 0
local deferred = {}
for _, user in ipairs(users) do
  local online = tonumber(redis.call('HGET', KEYS[2], user) or '0') > 0
  local was = redis.call('SISMEMBER', KEYS[3], user) == 1
  if online == was then
    unchanged = unchanged + 1
  elseif online then
    redis.call('SADD', KEYS[3], user)
    out[#out + 1] = user; out[#out + 1] = 'online'; out[#out + 1] = ''
  else
    local seen = redis.call('HGET', KEYS[4], user) or ''
    if cutoff ~= '' and seen > cutoff then
      deferred[#deferred + 1] = user
    else
      redis.call('SREM', KEYS[3], user)
      out[#out + 1] = user; out[#out + 1] = 'offline'; out[#out + 1] = seen
    end
  end
end
for _, user in ipairs(deferred) do redis.call('SADD', KEYS[1], user) end
return { unchanged, out, #deferred }
`;
