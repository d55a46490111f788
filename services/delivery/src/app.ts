import { Worker, type Job } from "bullmq";
import type { Keyspace } from "@parley/bus";
import type { Logger, Redis } from "@parley/runtime";

export interface DeliveryDeps {
  workerRedis: Redis;
  logger: Logger;
  keyspace: Keyspace;
}

/**
 * The delivery service's skeleton: it consumes the `delivery` queue, where receipts, unread
 * counts, presence and offline notifications will be handled (issue 3). Today it only
 * acknowledges jobs, so the queue never grows.
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
  let stopping: Promise<void> | undefined;
  return {
    worker,
    stop: () => (stopping ??= worker.close()),
  };
}
