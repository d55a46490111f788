import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { createLogger } from "./logger.js";
import { createMetricsRegistry } from "./metrics.js";
import { startOpsServer } from "./ops-server.js";
import { createDependencyHealth, type DependencyHealth } from "./dependency-health.js";
import type { CommonConfig } from "./env.js";
import { assertNoEviction, createRedis, waitForReady } from "./redis.js";
import { onShutdown } from "./shutdown.js";
import { startOrExit } from "./startup.js";

/** What a worker service builds: something that takes work (stream entries, jobs) until stopped. */
export interface Worker {
  run(): void;
  /** Stops taking work and finishes what it holds. */
  stop(): Promise<void>;
}

export interface WorkerContext<D> {
  pod: string;
  logger: Logger;
  registry: Registry;
  database: D;
  /** The blocking connection (consumer role): BullMQ workers, the persister's stream reader. */
  workerRedis: Redis;
  /** Fail-fast connection for publishing (producer role). */
  publishRedis: Redis;
}

/** The part of a worker service's config (its env.ts) that runWorkerService reads. */
export interface WorkerServiceConfig {
  common: CommonConfig;
  metricsPort: number;
  shutdownGraceMs: number;
}

export interface WorkerServiceOptions<D> {
  service: string;
  config: WorkerServiceConfig;
  database: {
    open(pod: string): D;
    ping(database: D): Promise<unknown>;
    close(database: D): Promise<void>;
  };
  build(context: WorkerContext<D>): Worker;
}

/**
 * The life of a worker process (persister, delivery): connections, the Redis eviction check,
 * `/metrics` `/healthz` `/readyz` on METRICS_PORT, then SIGTERM → drain → exit 0.
 */
export async function runWorkerService<D>(opts: WorkerServiceOptions<D>): Promise<void> {
  const { service, config } = opts;
  const pod = config.common.podName;
  const logger = createLogger({ service, level: config.common.logLevel, pod });
  const registry = createMetricsRegistry({ service });
  const database = opts.database.open(pod);
  const workerRedis = createRedis({ topology: config.common.redis, name: `${pod}:worker`, role: "consumer", logger });
  const publishRedis = createRedis({ topology: config.common.redis, name: `${pod}:publish`, role: "producer", logger });

  let draining = false;
  let worker: Worker | undefined;
  let ops: Awaited<ReturnType<typeof startOpsServer>> | undefined;
  let health: DependencyHealth | undefined;
  await startOrExit(service, logger, async () => {
    await waitForReady(publishRedis, 30_000);
    await assertNoEviction(publishRedis);
    worker = opts.build({ pod, logger, registry, database, workerRedis, publishRedis });
    health = createDependencyHealth({
      registry,
      redis: publishRedis,
      pingDatabase: () => opts.database.ping(database),
      draining: () => draining,
      intervalMs: config.common.dependencyCheckMs,
      logger,
    });
    ops = await startOpsServer({ port: config.metricsPort, registry, ready: () => health!.ready() });
    health.start();
  });
  worker!.run();
  logger.info({ metricsPort: ops!.port }, `${service} started`);

  onShutdown({
    logger,
    graceMs: config.shutdownGraceMs,
    // Order: stop taking work and finish what is in flight (it needs Postgres and Redis),
    // then close the connections, then the ops server so probes see us until the end.
    stop: async () => {
      draining = true;
      await worker!.stop();
      health!.stop();
      await Promise.allSettled([opts.database.close(database), workerRedis.quit(), publishRedis.quit()]);
      await ops!.close();
    },
  });
}
