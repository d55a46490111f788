import type { Redis } from "ioredis";
import type { PersistPartitionKeys } from "@parley/bus";

export interface StreamState {
  /** Entries added and not yet read by any persister (null when Redis cannot tell). */
  lag: number | null;
  /** Entries read and not yet acknowledged. */
  pending: number;
  lastDeliveredId: string;
  /** The oldest pending entry's id, when any. */
  oldestPendingId: string | undefined;
}

/** Redis answers XINFO with flat `[name, value, name, value, …]` arrays. */
export function fieldsOf(row: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < row.length; i += 2) out[String(row[i])] = row[i + 1];
  return out;
}

const NO_GROUP = (lag: number): StreamState => ({ lag, pending: 0, lastDeliveredId: "0-0", oldestPendingId: undefined });

/**
 * A partition's consumer group state in two commands (XINFO GROUPS, XPENDING summary). Before the
 * first persister created the group, every entry in the stream is backlog.
 */
export async function readStreamState(redis: Redis, partition: PersistPartitionKeys): Promise<StreamState> {
  const { stream, group } = partition;
  let groups: unknown[][];
  try {
    groups = (await redis.xinfo("GROUPS", stream)) as unknown[][];
  } catch (err) {
    if (err instanceof Error && /no such key/i.test(err.message)) return NO_GROUP(0);
    throw err;
  }
  const info = groups.map(fieldsOf).find((g) => g.name === group);
  if (!info) return NO_GROUP(await redis.xlen(stream));
  const pending = Number(info.pending);
  let oldestPendingId: string | undefined;
  if (pending > 0) {
    const summary = (await redis.xpending(stream, group)) as [number, string | null, string | null, unknown];
    oldestPendingId = summary[1] ?? undefined;
  }
  return {
    lag: info.lag === null || info.lag === undefined ? null : Number(info.lag),
    pending,
    lastDeliveredId: String(info["last-delivered-id"]),
    oldestPendingId,
  };
}
