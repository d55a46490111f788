import { Cluster, Redis, type ChainableCommander, type ClusterOptions, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { RedisTopology } from "./redis-topology.js";

export type { Redis };

export type RedisConnectionOptions = RedisConnectionRole &
  (
    | {
        /** Where Redis is (config.common.redis): one server, a Redis Cluster or a Sentinel-watched master. */
        topology: RedisTopology;
      }
    | {
        /** One server by URL (tests and tools): the same as `topology: { kind: "single", url }`. */
        url: string;
      }
  );

export interface RedisConnectionRole {
  /** Why this connection exists, shown in CLIENT LIST and logs. */
  name: string;
  /**
   * Producers fail fast (docs/architecture.md, "Failures on the message path"): with no offline queue a command issued while Redis is
   * away rejects at once, so a send is answered UNAVAILABLE instead of hanging.
   * Blocking consumers (BullMQ workers, the persister's stream reader) need the queue and unlimited retries.
   */
  role: "producer" | "consumer" | "subscriber";
  logger?: Logger;
}

/** Reconnect forever with capped, jittered backoff: outages recover by themselves. */
const retryStrategy = (attempt: number) => Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)) + Math.floor(Math.random() * 100);

export function createRedis(opts: RedisConnectionOptions): Redis {
  const common: RedisOptions = {
    connectionName: `parley:${opts.name}`,
    retryStrategy,
    lazyConnect: false,
    connectTimeout: 2_000,
  };
  const byRole: Record<RedisConnectionRole["role"], RedisOptions> = {
    // No auto-pipelining: a pipeline built per event-loop turn cost the gateway more CPU than
    // the writes it saved (docs/decisions/0014-no-redis-auto-pipelining.md).
    producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000 },
    consumer: { enableOfflineQueue: true, maxRetriesPerRequest: null },
    // No ready check (INFO) for subscribers: after a reconnect ioredis may already be in
    // subscriber mode when the check runs, where INFO is refused and the connection fails.
    subscriber: { enableOfflineQueue: true, maxRetriesPerRequest: null, enableReadyCheck: false },
  };
  const redis = open("topology" in opts ? opts.topology : { kind: "single", url: opts.url }, { ...common, ...byRole[opts.role] }, opts.role);
  let down = false;
  redis.on("error", (err: Error) => {
    if (!down) opts.logger?.warn({ err: err.message, connection: opts.name }, "redis connection error");
    down = true;
  });
  redis.on("ready", () => {
    if (down) opts.logger?.info({ connection: opts.name }, "redis connection restored");
    down = false;
  });
  return redis;
}

/**
 * One connection of the topology. A Redis Cluster is an ioredis `Cluster`, returned as the
 * `Redis` the services are typed against: both carry the same commands, pipelines, scripts
 * (defineCommand) and events, and the few places where a cluster differs ask `isCluster`
 * (pipelines across slots, the eviction check, subscription gaps). A Sentinel-watched master
 * is a plain `Redis` that asks the Sentinels where the master is, on every reconnect too.
 */
function open(topology: RedisTopology, options: RedisOptions, role: RedisConnectionRole["role"]): Redis {
  switch (topology.kind) {
    case "single":
      return new Redis(topology.url, options);
    case "sentinel":
      return new Redis({
        ...options,
        sentinels: topology.sentinels,
        name: topology.name,
        username: topology.username,
        password: topology.password,
        sentinelRetryStrategy: retryStrategy,
        // Also listen to the Sentinels' +switch-master: a master that is demoted while still
        // reachable (a manual failover, a partition) is left at once, not at the next error.
        failoverDetector: true,
        ...(topology.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
      });
    case "cluster": {
      const { enableOfflineQueue, enableReadyCheck, ...nodeOptions } = options;
      const clusterOptions: ClusterOptions = {
        clusterRetryStrategy: retryStrategy,
        enableOfflineQueue,
        enableReadyCheck,
        // The sharded adapter, the ack channels: SSUBSCRIBE goes to the shard that owns the
        // channel's slot, one subscriber connection per master (ioredis' ClusterSubscriberGroup).
        shardedSubscribers: role === "subscriber",
        // A failover moves slots within seconds; refresh the map quickly rather than wait.
        slotsRefreshTimeout: 2_000,
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        redisOptions: {
          ...nodeOptions,
          username: topology.username,
          password: topology.password,
          ...(topology.tls ? { tls: {} } : {}),
        },
      };
      return new Cluster(topology.nodes, clusterOptions) as unknown as Redis;
    }
  }
}

/** Whether this connection is a Redis Cluster client (createRedis with REDIS_CLUSTER_NODES). */
export function isCluster(redis: Pick<Redis, "isCluster">): boolean {
  return redis.isCluster === true;
}

/** The master nodes to ask for server-wide state: every master of a cluster, else the one server. */
function serversOf(redis: Redis): Redis[] {
  return isCluster(redis) ? (redis as unknown as Cluster).nodes("master") : [redis];
}

/**
 * A pipeline whose commands may name keys and shard channels in different slots. On one
 * server (or a Sentinel-watched master) it is the ordinary pipeline: one round trip. On a
 * cluster ioredis refuses a pipeline across slots, so the commands are sent one by one in
 * the order given (each to its slot's master, all written before any answer is awaited, so
 * it still costs one round trip per master) and `exec` answers as a pipeline does:
 * `[error, result]` per command, in order.
 */
export function pipelineAcrossSlots(redis: Redis): ChainableCommander {
  if (!isCluster(redis)) return redis.pipeline();
  const calls: Promise<[Error | null, unknown]>[] = [];
  const target = redis as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const proxy: ChainableCommander = new Proxy({} as ChainableCommander, {
    get(_, name) {
      if (name === "exec") return () => Promise.all(calls.splice(0));
      if (name === "length") return calls.length;
      if (typeof name !== "string" || typeof target[name] !== "function") return undefined;
      return (...args: unknown[]) => {
        calls.push(target[name]!.apply(redis, args).then((value): [null, unknown] => [null, value], (err: Error): [Error, undefined] => [err, undefined]));
        return proxy;
      };
    },
  });
  return proxy;
}

/**
 * Connection gaps: `lost` when this connection (or, on a cluster, its link to one master) went
 * away, so a subscriber may have missed messages and a failover may have lost writes the old
 * master had not yet replicated; `back` when it works again. One server or Sentinel: the
 * connection's close and ready. A cluster keeps one connection per master: a lost master
 * (`-node`) is a gap, and a sharded subscriber connected again (`+subscriber`) ends it.
 */
export function onConnectionGap(redis: Pick<Redis, "on" | "off" | "isCluster">, handlers: { lost(): void; back(): void }): () => void {
  const [lostEvent, backEvent] = isCluster(redis) ? ["-node", "+subscriber"] : ["close", "ready"];
  redis.on(lostEvent, handlers.lost);
  redis.on(backEvent, handlers.back);
  return () => {
    redis.off(lostEvent, handlers.lost);
    redis.off(backEvent, handlers.back);
  };
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export function waitForReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis not ready after ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off("ready", onReady);
    };
    redis.on("ready", onReady);
  });
}

/**
 * BullMQ jobs, the persist stream and rate-limit counters must never be evicted: every service refuses to start
 * against a Redis that may drop keys under memory pressure (docs/architecture.md, "Failures on the message path").
 * Every master of a cluster is asked. A managed Redis that refuses CONFIG (most hosted ones
 * rename or forbid it) is asked `INFO memory` instead, whose `maxmemory_policy` says the same.
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  for (const server of serversOf(redis)) {
    const policy = await evictionPolicy(server);
    if (policy !== "noeviction") {
      const where = isCluster(redis) ? ` on ${server.options.host}:${server.options.port}` : "";
      throw new Error(
        `Redis maxmemory-policy is "${policy ?? "unknown"}"${where}; Parley needs "noeviction" (queued messages must never be evicted). ` +
          `Set it with: redis-cli CONFIG SET maxmemory-policy noeviction (and in redis.conf), or in the managed service's parameters.`,
      );
    }
  }
}

/** maxmemory-policy from CONFIG GET, or from INFO memory when CONFIG is refused or renamed away. */
async function evictionPolicy(server: Redis): Promise<string | undefined> {
  try {
    const reply = (await server.config("GET", "maxmemory-policy")) as string[];
    if (reply[1] !== undefined) return reply[1];
  } catch {
    // "ERR unknown command 'CONFIG'" (renamed away) or "NOPERM" (ACL): INFO says the same.
  }
  const info = await server.info("memory");
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
}
