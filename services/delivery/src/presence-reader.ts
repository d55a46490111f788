import type { Redis } from "ioredis";
import type { Keyspace } from "@parley/bus";

/** HMGET in slices, so a huge conversation never becomes one giant command. */
const SLICE = 1_000;

/**
 * Who has a live socket anywhere in the cluster, from the presence engineer's hash
 * (`keyspace.presence.counts`: userId → live sockets; absent or 0 = offline).
 */
export async function onlineUsers(redis: Redis, keyspace: Keyspace, userIds: readonly string[]): Promise<Set<string>> {
  const online = new Set<string>();
  for (let i = 0; i < userIds.length; i += SLICE) {
    const slice = userIds.slice(i, i + SLICE);
    const counts = await redis.hmget(keyspace.presence.counts, ...slice);
    counts.forEach((c, k) => {
      if (c !== null && Number(c) > 0) online.add(slice[k]!);
    });
  }
  return online;
}
