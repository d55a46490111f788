import type { Redis } from "ioredis";
import { encodePersistEntry, type PersistEntry } from "./persist-entry.js";
import type { PersistPartitionKeys } from "./keyspace.js";

/**
 * Appends one entry: one XADD whatever it holds (why a stream and not a queue of jobs:
 * docs/decisions/0001-persist-stream-instead-of-bullmq-jobs.md).
 *
 * `MAXLEN ~ maxLen` bounds the stream through a long Postgres outage so Redis cannot fill up.
 * An entry trimmed that way was never committed, hence never acked: its senders heard
 * UNAVAILABLE (or timed out) and retry with the same clientMessageId, so nothing acked is lost.
 */
export function appendPersistEntry(redis: Redis, partition: PersistPartitionKeys, entry: Omit<PersistEntry, "v">, maxLen: number): Promise<string | null> {
  return redis.xadd(partition.stream, "MAXLEN", "~", maxLen, "*", ...encodePersistEntry(entry));
}

/** When the entry was added (ms since the epoch), from its id `<ms>-<n>`. */
export function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}

/** Orders two stream ids `<ms>-<n>` as Redis does (numerically, not as strings). */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split("-").map(Number) as [number, number];
  const [bMs, bSeq] = b.split("-").map(Number) as [number, number];
  return aMs - bMs || aSeq - bSeq;
}

/**
 * Creates a partition's consumer group (and its stream) if missing. From id 0, not `$`:
 * gateways may append before the first persister ever started, and those entries must be read.
 * Recreating it after a Redis restart re-reads what is left of the stream, which the
 * idempotent insert makes harmless.
 */
export async function ensurePersistGroup(redis: Redis, partition: PersistPartitionKeys): Promise<void> {
  try {
    await redis.xgroup("CREATE", partition.stream, partition.group, "0", "MKSTREAM");
  } catch (err) {
    if (!(err instanceof Error && err.message.includes("BUSYGROUP"))) throw err;
  }
}
