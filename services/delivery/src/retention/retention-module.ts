import { Queue, Worker } from "bullmq";
import { JobCatalog } from "@parley/bus";
import { BULLMQ_WORKER_METRICS } from "@parley/runtime";
import type { DeliveryConfig } from "../env.js";
import type { DeliveryContext, DeliveryModule } from "../module.js";
import { tombstoneAnnouncer } from "../tombstones/announce-tombstones.js";
import { createRetentionMetrics } from "./retention-metrics.js";
import { runRetentionSweep } from "./retention-sweep.js";

/** The scheduler's id: one per cluster, whatever the number of delivery replicas. */
export const RETENTION_SCHEDULER_ID = "retention-sweep";

/**
 * Retention (MESSAGE_RETENTION_DAYS, conversations' retentionDays): a BullMQ job scheduler adds
 * one `retention` job every RETENTION_SWEEP_MS; one worker per replica, concurrency 1, and the
 * scheduler adds the next job only once the last one is taken, so sweeps never overlap. Runs
 * whether or not a default is set: a conversation may have its own retention.
 */
export function createRetentionModule(ctx: DeliveryContext, config: DeliveryConfig["retention"]): DeliveryModule {
  const metrics = createRetentionMetrics(ctx.registry);
  const announce = tombstoneAnnouncer(ctx, "retention");
  const queue = new Queue("retention", { connection: ctx.publishRedis, prefix: ctx.keyspace.queuePrefix });
  queue.on("error", (err) => ctx.logger.debug({ err: err.message }, "retention queue error"));
  const worker = new Worker(
    "retention",
    async (job) =>
      runRetentionSweep({
        database: ctx.database,
        metrics,
        logger: ctx.logger,
        config,
        progress: (p) => job.updateProgress(p),
        announce,
      }),
    {
      connection: ctx.workerRedis,
      prefix: ctx.keyspace.queuePrefix,
      concurrency: 1,
      autorun: false,
      metrics: BULLMQ_WORKER_METRICS,
    },
  );
  worker.on("failed", (job, err) => ctx.logger.warn({ jobId: job?.id, err: err.message }, "retention sweep failed; the next one goes on"));
  worker.on("error", (err) => ctx.logger.warn({ err: err.message }, "retention worker error"));
  let stopping: Promise<void> | undefined;
  return {
    name: "retention",
    start: () => {
      void worker.run();
      queue
        .upsertJobScheduler(RETENTION_SCHEDULER_ID, { every: config.sweepMs }, { name: "retention", data: {}, opts: JobCatalog.retention.options })
        .catch((err: unknown) => ctx.logger.warn({ err: String(err) }, "retention scheduler not set; the next start sets it"));
    },
    stop: () =>
      (stopping ??= (async () => {
        await worker.close();
        await queue.close();
      })()),
  };
}
