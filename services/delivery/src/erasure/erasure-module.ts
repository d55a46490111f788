import { Worker } from "bullmq";
import { BULLMQ_WORKER_METRICS } from "@parley/runtime";
import type { DeliveryConfig } from "../env.js";
import type { DeliveryContext, DeliveryModule } from "../module.js";
import { workersModule } from "../module.js";
import { createErasureMetrics } from "./erasure-metrics.js";
import { createEraseUserProcessor } from "./erase-user-job.js";

/**
 * User erasure: a worker on the `erasure` queue (jobs added by DELETE /v1/admin/users/:userId).
 * One erasure at a time per replica: each is long, bounded-batch database work, and erasures
 * are rare. A killed worker's job is taken over after ERASURE_LOCK_MS; a job may be taken over
 * up to 10 times before it is failed (each time it goes on from its saved progress).
 */
export function createErasureModule(ctx: DeliveryContext, config: DeliveryConfig["erasure"]): DeliveryModule {
  const worker = new Worker(
    "erasure",
    createEraseUserProcessor({
      database: ctx.database,
      publishRedis: ctx.publishRedis,
      keyspace: ctx.keyspace,
      metrics: createErasureMetrics(ctx.registry),
      logger: ctx.logger,
      batchSize: config.batchSize,
    }),
    {
      connection: ctx.workerRedis,
      prefix: ctx.keyspace.queuePrefix,
      concurrency: 1,
      autorun: false,
      lockDuration: config.lockMs,
      stalledInterval: config.lockMs,
      maxStalledCount: 10,
      metrics: BULLMQ_WORKER_METRICS,
    },
  );
  worker.on("failed", (job, err) => ctx.logger.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, "erasure attempt failed; retried"));
  worker.on("error", (err) => ctx.logger.warn({ err: err.message }, "erasure worker error"));
  return workersModule("erasure", [worker]);
}
