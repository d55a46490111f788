import { Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import { JobCatalog } from "@parley/bus";
import { BULLMQ_WORKER_METRICS } from "@parley/runtime";
import type { DeliveryConfig } from "../env.js";
import type { DeliveryContext, DeliveryModule } from "../module.js";
import { workersModule } from "../module.js";
import { CollapseStore } from "./collapse-store.js";
import { createHandOffProcessor } from "./hand-off-processor.js";
import type { Notifier } from "./notifier.js";
import { createPushProcessor } from "./push-processor.js";

/** The settings this module reads; where notifications go (`webhook`) becomes the notifier its caller passes. */
export type NotificationsConfig = Omit<DeliveryConfig["notifications"], "webhook">;

/**
 * Offline notifications: consumes the persister's hand-off (`notify`), keeps the collapse
 * windows, and sends one notification per window through the notifier (`push`). Without a
 * notifier the hand-off is still consumed, so the queue never grows, and nothing is sent.
 */
export function createNotificationsModule(
  ctx: DeliveryContext,
  config: NotificationsConfig,
  notifier: Notifier | undefined,
  /**
   * Runs first with each hand-off's data (the events webhook's message.created): a failure
   * fails the hand-off job, which is retried whole (each step is idempotent).
   */
  onHandOff?: (data: unknown) => Promise<unknown>,
): DeliveryModule {
  const { metrics, logger } = ctx;
  const timed = <T>(queue: string, work: (job: Job<unknown>) => Promise<T>) => async (job: Job<unknown>) => {
    const started = performance.now();
    try {
      if (queue === "notify" && onHandOff) await onHandOff(job.data);
      const result = await work(job);
      metrics.jobSeconds.observe({ queue, outcome: "ok" }, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      metrics.jobSeconds.observe({ queue, outcome: "failed" }, (performance.now() - started) / 1000);
      throw err;
    }
  };
  const workerOptions = (concurrency: number) => ({
    connection: ctx.workerRedis,
    prefix: ctx.keyspace.queuePrefix,
    concurrency,
    autorun: false,
    metrics: BULLMQ_WORKER_METRICS,
  });

  if (!notifier) {
    logger.info("offline notifications are off (PUSH_WEBHOOK_URL is not set): committed messages are not pushed");
    const drain = new Worker(
      "notify",
      timed("notify", async (job) => {
        const parsed = JobCatalog.notify.data.safeParse(job.data);
        metrics.notificationsSkipped.inc({ reason: "disabled" }, parsed.success ? parsed.data.messages.length : 1);
      }),
      workerOptions(config.handOffConcurrency),
    );
    drain.on("error", (err) => logger.warn({ err: err.message }, "notify worker error"));
    return workersModule("notifications", [drain]);
  }

  // Windows are re-armed when their job may have been lost (a hand-off re-run, an add that
  // failed): well after the job should have run. Pair hashes outlive any retry of a hand-off.
  // A counted seq is remembered one by one for 15 minutes, then under the pair's floor: longer
  // than a notify job's retries (10 attempts from 500 ms, doubling: about 4 minutes), so a
  // batch overtaken by a later one of its conversation, or re-run, is still counted exactly.
  const store = new CollapseStore(ctx.publishRedis, ctx.keyspace, {
    rearmAfterMs: config.collapseMs + 60_000,
    ttlSeconds: 24 * 3600,
    seenHorizonMs: 15 * 60_000,
  });
  const pushQueue = new Queue("push", { connection: ctx.publishRedis, prefix: ctx.keyspace.queuePrefix });
  pushQueue.on("error", (err) => logger.debug({ err: err.message }, "push queue error"));

  const handOff = new Worker(
    "notify",
    timed(
      "notify",
      createHandOffProcessor({
        database: ctx.database,
        redis: ctx.publishRedis,
        keyspace: ctx.keyspace,
        store,
        pushQueue,
        metrics,
        logger,
        collapseMs: config.collapseMs,
        attempts: config.attempts,
        backoffMs: config.backoffMs,
      }),
    ),
    workerOptions(config.handOffConcurrency),
  );
  handOff.on("failed", (job, err) => logger.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, "notify job failed"));
  handOff.on("error", (err) => logger.warn({ err: err.message }, "notify worker error"));

  const push = new Worker(
    "push",
    timed(
      "push",
      createPushProcessor({
        database: ctx.database,
        redis: ctx.publishRedis,
        keyspace: ctx.keyspace,
        store,
        notifier,
        metrics,
        logger,
        previewChars: config.previewChars,
      }),
    ),
    workerOptions(config.pushConcurrency),
  );
  push.on("failed", (job, err) => {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    // A refusal (or unreadable job data) was logged and counted where it happened; here: out of attempts.
    if (job.attemptsMade >= attempts && !(err instanceof UnrecoverableError)) {
      metrics.notificationsFailed.inc({ reason: "exhausted" });
      logger.warn({ jobId: job.id, notifier: notifier.name, attempts: job.attemptsMade, reason: err.message }, "notification given up after its last attempt");
      const data = JobCatalog.push.data.safeParse(job.data);
      if (data.success) void store.done(data.data.conversationId, data.data.recipientId, data.data.window).catch(() => {});
    } else if (job.attemptsMade < attempts) {
      logger.info({ jobId: job.id, attempt: job.attemptsMade, reason: err.message }, "notification failed; retrying with backoff");
    }
  });
  push.on("error", (err) => logger.warn({ err: err.message }, "push worker error"));

  logger.info({ notifier: notifier.name, collapseMs: config.collapseMs, attempts: config.attempts }, "offline notifications are on");
  return workersModule("notifications", [handOff, push], () => pushQueue.close());
}
