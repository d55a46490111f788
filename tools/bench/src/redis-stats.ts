// Redis command counts (INFO commandstats) around a measured window: how many Redis
// commands, and which, each message costs (persist stream, rate limiter, pub/sub, adapter).
import { Redis } from "ioredis";

export type CommandCounts = Record<string, { calls: number; usec: number }>;


/** A stream's `entries-added` (XINFO STREAM): its growth over a window is the entries the gateways appended. */
export async function readEntriesAdded(url: string, key: string): Promise<number | undefined> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = (await redis.xinfo("STREAM", key)) as unknown[];
    const at = info.indexOf("entries-added");
    return at < 0 ? undefined : Number(info[at + 1]);
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

/** INFO commandstats summed over several servers (a Redis Cluster's masters). */
export async function commandStatsOf(urls: readonly string[]): Promise<CommandCounts> {
  const out: CommandCounts = {};
  for (const counts of await Promise.all(urls.map(commandStats))) {
    for (const [name, c] of Object.entries(counts)) {
      const o = (out[name] ??= { calls: 0, usec: 0 });
      o.calls += c.calls;
      o.usec += c.usec;
    }
  }
  return out;
}

/**
 * `entries-added` summed over several streams (the persist partitions) on several servers: a
 * stream another master holds answers MOVED there and is read where it lives. Undefined when
 * none could be read.
 */
export async function entriesAddedOf(urls: readonly string[], keys: readonly string[]): Promise<number | undefined> {
  let total: number | undefined;
  for (const key of keys) {
    for (const url of urls) {
      const n = await readEntriesAdded(url, key);
      if (n === undefined) continue;
      total = (total ?? 0) + n;
      break;
    }
  }
  return total;
}

export async function commandStats(url: string): Promise<CommandCounts> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const text = await redis.info("commandstats");
    const out: CommandCounts = {};
    for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      out[match[1]!] = { calls: Number(match[2]), usec: Number(match[3]) };
    }
    return out;
  } catch {
    return {};
  } finally {
    redis.disconnect();
  }
}

export interface RedisUse {
  /** Persist stream entries appended in the window, and messages per entry (durable only). */
  persistEntries?: number;
  messagesPerEntry?: number;
  /** Commands per second over the window, and per message sent. */
  callsPerSecond: number;
  callsPerMessage: number;
  /** Redis' own time in commands, % of one core. */
  commandCpuPercent: number;
  /** The commands with the most calls: [name, calls per message, µs per call]. */
  top: Array<[string, number, number]>;
}

export function redisBetween(a: CommandCounts, b: CommandCounts, seconds: number, messages: number): RedisUse {
  const rows: Array<[string, number, number]> = [];
  let calls = 0;
  let usec = 0;
  for (const [name, after] of Object.entries(b)) {
    const before = a[name] ?? { calls: 0, usec: 0 };
    const dc = after.calls - before.calls;
    const du = after.usec - before.usec;
    if (dc <= 0) continue;
    calls += dc;
    usec += du;
    rows.push([name, messages > 0 ? Math.round((dc / messages) * 100) / 100 : 0, Math.round((du / dc) * 10) / 10]);
  }
  rows.sort((x, y) => y[1] - x[1]);
  return {
    callsPerSecond: Math.round(calls / seconds),
    callsPerMessage: messages > 0 ? Math.round((calls / messages) * 10) / 10 : 0,
    commandCpuPercent: Math.round((usec / 1e6 / seconds) * 1000) / 10,
    top: rows.slice(0, 8),
  };
}
