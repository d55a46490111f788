import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";

export type { Redis };

export interface RedisConnectionOptions {
  url: string;
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
  const byRole: Record<RedisConnectionOptions["role"], RedisOptions> = {
    // No auto-pipelining: a pipeline built per event-loop turn cost the gateway more CPU than
    // the writes it saved (docs/decisions/0014-no-redis-auto-pipelining.md).
    producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 2_000 },
    consumer: { enableOfflineQueue: true, maxRetriesPerRequest: null },
    // No ready check (INFO) for subscribers: after a reconnect ioredis may already be in
    // subscriber mode when the check runs, where INFO is refused and the connection fails.
    subscriber: { enableOfflineQueue: true, maxRetriesPerRequest: null, enableReadyCheck: false },
  };
  const redis = new Redis(opts.url, { ...common, ...byRole[opts.role] });
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
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const reply = (await redis.config("GET", "maxmemory-policy")) as string[];
  const policy = reply[1];
  if (policy !== "noeviction") {
    throw new Error(
      `Redis maxmemory-policy is "${policy ?? "unknown"}"; Parley needs "noeviction" (queued messages must never be evicted). ` +
        `Set it with: redis-cli CONFIG SET maxmemory-policy noeviction (and in redis.conf).`,
    );
  }
}
