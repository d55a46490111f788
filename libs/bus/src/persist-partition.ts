import { crc32 } from "node:zlib";

/**
 * The most persist partitions a deployment may have. Persisters look for streams up to this
 * index (beyond their own PERSIST_PARTITIONS) so that a partition left behind by a change of
 * the count is still drained (persister stream/partition-set.ts).
 */
export const MAX_PERSIST_PARTITIONS = 64;

/**
 * PERSIST_PARTITIONS when unset: 1 on one Redis primary (a single server or Sentinel), where
 * more streams add connections and no throughput (one Redis thread serves them all); 8 on a
 * Redis Cluster, so the persist path spreads over up to 8 masters (their hash tags fall in
 * different slots; which master holds which slot is the cluster's layout).
 */
export function defaultPersistPartitions(topology: "single" | "sentinel" | "cluster"): number {
  return topology === "cluster" ? 8 : 1;
}

/**
 * The persist partition of a conversation: CRC-32 of its id mod `partitions`. Stable across
 * processes and versions (a conversation's sends always meet in one stream, so its commits
 * keep their order); CRC-32 and not the id's leading digits, which are a UUIDv7's time.
 */
export function persistPartitionOf(conversationId: string, partitions: number): number {
  return partitions <= 1 ? 0 : crc32(conversationId) % partitions;
}
