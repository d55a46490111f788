import clusterKeySlot from "cluster-key-slot";

/**
 * Every Redis key and channel name Parley uses, under one optional namespace so several
 * clusters (or test files running in parallel) can share one Redis without seeing each
 * other. Hash tags (`{…}`) keep the keys a Lua script touches in one Redis Cluster slot.
 */
export interface Keyspace {
  /** BullMQ `prefix` for every queue. */
  queuePrefix: string;
  /** Socket.IO sharded adapter `channelPrefix` (the RoomEmitter writes to the same channels). */
  adapterChannelPrefix: string;
  /** Where the persister answers a gateway pod's sends (sharded pub/sub, one channel per pod). */
  ackChannel(podId: string): string;
  /** Membership changes: every gateway drops its cached answers for the named pairs. */
  membershipChannel: string;
  /** Prefix of the per-user token buckets, one per class of event (`<prefix>:<class>:{user}`, gateway limits/token-buckets.ts). */
  rateLimitPrefix: string;
  /** Prefix of the per-user member-add token buckets (`<prefix>:{user}`, gateway conversations/member-add-limiter.ts). */
  memberAddRateLimitPrefix: string;
  /**
   * Presence bookkeeping. One hash tag for all of it: the scripts that move a socket count
   * touch the pod's hash, the cluster-wide hash and the dirty set together.
   */
  presence: {
    /** Sorted set: gateway pod id → its last heartbeat (ms since the epoch). */
    pods: string;
    /** Hash on one pod: userId → that pod's live sockets of the user. */
    podCounts(podId: string): string;
    /** Hash: userId → live sockets of the user anywhere in the cluster (absent or 0: offline). */
    counts: string;
    /** Set: users whose online/offline status may have changed and is not yet announced. */
    dirty: string;
    /** Hash: userId → when they were last seen (ISO 8601), set when they go offline. */
    lastSeen: string;
    /** Set: users last announced online (the delivery service's record of what it told clients). */
    announced: string;
  };
  /**
   * The persist path (docs/architecture.md, "The message's way"): gateways append batches of
   * sends to PERSIST_PARTITIONS Redis Streams, a conversation always to the same one
   * (persist-partition.ts); persisters read each through its own consumer group. Partition 0
   * keeps the names of the single stream before partitions, so an upgrade with N = 1 changes
   * nothing. Each partition has a hash tag of its own (`{persist}`, then tags chosen to spread
   * evenly over the slots: persistTag below): on a Redis Cluster the partitions spread over
   * the masters, and a partition's stream, dead letters and marks (which one script or
   * pipeline touches together) share a slot.
   */
  persist: PersistPartitionKeys;
  /** The keys of persist partition `index` (0 is `persist`). */
  persistPartition(index: number): PersistPartitionKeys;
  /** Offline notifications. */
  notify: {
    /**
     * Hash per (conversation, recipient): the open collapse window (its count and seqs, never
     * message text), the floor below which every seq counts as seen, and the snapshots of
     * windows being pushed.
     */
    pending(conversationId: string, userId: string): string;
    /** Sorted set per (conversation, recipient): seqs counted recently → when (ms). */
    seen(conversationId: string, userId: string): string;
  };
}

/** One persist partition's keys (keyspace.ts `persistPartition`). */
export interface PersistPartitionKeys {
  /** Which partition: hash(conversationId) mod PERSIST_PARTITIONS (persist-partition.ts). */
  index: number;
  /** Stream: one entry per gateway window of the partition's sends (persist-stream.ts). */
  stream: string;
  /** The consumer group every persister reads the partition through. */
  group: string;
  /** Stream: entries (or the messages of an entry) that could not be stored, with the reason. */
  dead: string;
  /**
   * Hash: consumer → the XPENDING range start of what it has read and not yet committed
   * (its oldest uncommitted entry id, or `(` and the newest id it took). What it holds below
   * is committed and waits only for its XACK (the notify hand-off): the admission signal
   * leaves it out (persist-backlog.ts).
   */
  uncommitted: string;
}

/**
 * A key's Redis Cluster slot (CRC16 of its hash tag, as Redis and ioredis compute it): commands
 * and scripts whose keys share it may go together on a cluster.
 */
export function redisClusterSlot(key: string): number {
  return clusterKeySlot(key);
}

const SLOTS = 16_384;
/** Partition 0's tag: the single stream's, before partitions. */
const FIRST_TAG = "persist";

/** k-th term of the base-2 van der Corput sequence (0, ½, ¼, ¾, ⅛, …): any first N terms are spread evenly over [0, 1). */
function vanDerCorput(k: number): number {
  let x = 0;
  for (let bit = 0.5; k > 0; k >>= 1, bit /= 2) if (k & 1) x += bit;
  return x;
}

/**
 * Partition `index`'s hash tag. Redis Cluster masters own contiguous slot ranges, so tags whose
 * slots are spread evenly around the 16,384 slots land on different masters: partition k's tag
 * is the first of `persist:k`, `persist:k:1`, `persist:k:2`, … whose slot lies within 64 slots
 * after partition 0's slot plus the k-th van der Corput fraction of the ring. Plain
 * `{persist:k}` tags put 4 of the first 8 partitions on one master of three. Deterministic (a
 * stream's name must never change between releases: keyspace.test.ts pins them).
 */
const tags = new Map<number, string>([[0, FIRST_TAG]]);
function persistTag(index: number): string {
  let tag = tags.get(index);
  if (tag !== undefined) return tag;
  const target = Math.floor(clusterKeySlot(FIRST_TAG) + vanDerCorput(index) * SLOTS) % SLOTS;
  const within = (candidate: string) => (clusterKeySlot(candidate) - target + SLOTS) % SLOTS < 64;
  tag = `persist:${index}`;
  for (let j = 1; !within(tag); j++) tag = `persist:${index}:${j}`;
  tags.set(index, tag);
  return tag;
}

function persistPartitionKeys(namespace: string, index: number): PersistPartitionKeys {
  const tag = `{${persistTag(index)}}`;
  return {
    index,
    stream: `${namespace}parley:${tag}:stream`,
    group: "persisters",
    dead: `${namespace}parley:${tag}:dead`,
    uncommitted: `${namespace}parley:${tag}:uncommitted`,
  };
}

export function createKeyspace(namespace = ""): Keyspace {
  const partitions = new Map<number, PersistPartitionKeys>();
  const persistPartition = (index: number): PersistPartitionKeys => {
    let keys = partitions.get(index);
    if (!keys) partitions.set(index, (keys = persistPartitionKeys(namespace, index)));
    return keys;
  };
  return {
    queuePrefix: `${namespace}{parley}`,
    adapterChannelPrefix: `${namespace}socket.io`,
    ackChannel: (podId) => `${namespace}parley:ack:{${podId}}`,
    membershipChannel: `${namespace}parley:membership`,
    rateLimitPrefix: `${namespace}parley:rl`,
    memberAddRateLimitPrefix: `${namespace}parley:rl:member-adds`,
    presence: {
      pods: `${namespace}parley:{presence}:pods`,
      podCounts: (podId) => `${namespace}parley:{presence}:pod:${podId}`,
      counts: `${namespace}parley:{presence}:counts`,
      dirty: `${namespace}parley:{presence}:dirty`,
      lastSeen: `${namespace}parley:{presence}:last-seen`,
      announced: `${namespace}parley:{presence}:announced`,
    },
    persist: persistPartition(0),
    persistPartition,
    notify: {
      // One hash tag per pair: the collapse script touches both keys together. The user id may
      // hold any character, '}' included; the tag then ends inside it, the same way in both keys.
      pending: (conversationId, userId) => `${namespace}parley:notify:{${conversationId}:${userId}}`,
      seen: (conversationId, userId) => `${namespace}parley:notify:{${conversationId}:${userId}}:seen`,
    },
  };
}

export const DEFAULT_KEYSPACE = createKeyspace();
