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
  /** rate-limiter-flexible key prefix for sends. */
  sendRateLimitPrefix: string;
}

export function createKeyspace(namespace = ""): Keyspace {
  return {
    queuePrefix: `${namespace}{parley}`,
    adapterChannelPrefix: `${namespace}socket.io`,
    ackChannel: (podId) => `${namespace}parley:ack:{${podId}}`,
    membershipChannel: `${namespace}parley:membership`,
    sendRateLimitPrefix: `${namespace}parley:rl:send`,
  };
}

export const DEFAULT_KEYSPACE = createKeyspace();
