import { Worker, type Job } from "bullmq";
import type { Keyspace } from "@parley/bus";
import type { Database } from "@parley/db";
import type { Logger, Redis } from "@parley/runtime";
import type { Registry } from "prom-client";
import { createPresenceModule } from "./presence/presence-module.js";
import type { PresenceAnnouncerConfig } from "./presence/presence-announcer.js";

export interface DeliveryDeps {
  workerRedis: Redis;
  /** Fail-fast connection for scripts and publishes. */
  publishRedis: Redis;
  database: Database;
  registry: Registry;
  logger: Logger;
  keyspace: Keyspace;
  presence: PresenceAnnouncerConfig;
}

/**
 * The delivery service: it consumes the `delivery` queue, where receipts, unread counts and
 * offline notifications will be handled (issue 3), and runs the presence module (sweeps of
 * dead gateway pods, coalesced presence announcements).
 */
export function buildDelivery(deps: DeliveryDeps) {
  const worker = new Worker(
    "delivery",
    async (job: Job) => {
      deps.logger.debug({ jobId: job.id, name: job.name }, "delivery job received (no handler yet)");
    },
    { connection: deps.workerRedis, prefix: deps.keyspace.queuePrefix, concurrency: 16, autorun: false },
  );
  worker.on("error", (err) => deps.logger.warn({ err: err.message }, "delivery worker error"));
  const presence = createPresenceModule({
    publishRedis: deps.publishRedis,
    database: deps.database,
    registry: deps.registry,
    logger: deps.logger,
    keyspace: deps.keyspace,
    config: deps.presence,
  });
  let stopping: Promise<void> | undefined;
  return {
    worker,
    presence,
    run: () => {
      presence.start();
      void worker.run();
    },
    stop: () => (stopping ??= Promise.all([worker.close(), presence.stop()]).then(() => undefined)),
  };
}
