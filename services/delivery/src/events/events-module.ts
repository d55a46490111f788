import { Queue, Worker } from "bullmq";
import { BULLMQ_WORKER_METRICS } from "@parley/runtime";
import type { DeliveryConfig } from "../env.js";
import type { DeliveryContext, DeliveryModule } from "../module.js";
import { workersModule } from "../module.js";
import { createEventProcessor } from "./event-processor.js";
import { createEventSender } from "./event-sender.js";
import type { EventsMetrics } from "./events-metrics.js";
import { EventsQueue } from "./events-queue.js";

export type EventsConfig = NonNullable<DeliveryConfig["events"]>;

/**
 * The events webhook (EVENTS_WEBHOOK_URL): a worker on the `events` queue posts each event,
 * retried with exponential backoff (event-processor.ts); an event out of attempts stays in the queue as a failed
 * job (dead), kept for replay (`npm run events:replay -w services/delivery`). The queue is fed
 * by the gateways (their changes) and by `queue.messagesCreated`, which the notifications
 * module calls with each persister hand-off: off the message path, which never waits for it.
 */
export function createEventsModule(ctx: DeliveryContext, config: EventsConfig, metrics: EventsMetrics): { module: DeliveryModule; queue: EventsQueue } {
  const { logger } = ctx;
  const producer = new Queue("events", { connection: ctx.publishRedis, prefix: ctx.keyspace.queuePrefix });
  producer.on("error", (err) => logger.debug({ err: err.message }, "events queue error"));
  const queue = new EventsQueue(producer);

  const worker = new Worker(
    "events",
    createEventProcessor({
      database: ctx.database,
      send: createEventSender({ url: config.url, secret: config.secret, timeoutMs: config.timeoutMs }),
      metrics,
      logger,
      attempts: config.attempts,
      backoffMs: config.backoffMs,
    }),
    {
      connection: ctx.workerRedis,
      prefix: ctx.keyspace.queuePrefix,
      concurrency: config.concurrency,
      autorun: false,
      metrics: BULLMQ_WORKER_METRICS,
    },
  );
  worker.on("completed", () => metrics.deliveries.inc({ outcome: "delivered" }));
  // Retries never fail the job (event-processor.ts): a failed job is a dead event.
  worker.on("failed", (job, err) => {
    if (!job) return;
    metrics.deliveries.inc({ outcome: "dead" });
    logger.warn({ eventId: job.id, tries: job.attemptsStarted, reason: err.message }, "event kept as dead: replay it with npm run events:replay -w services/delivery");
  });
  worker.on("error", (err) => logger.warn({ err: err.message }, "events worker error"));
  logger.info({ attempts: config.attempts, concurrency: config.concurrency }, "events webhook is on");
  return { module: workersModule("events", [worker], () => producer.close()), queue };
}
