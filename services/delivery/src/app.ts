import type { Keyspace } from "@parley/bus";
import type { Database } from "@parley/db";
import { Queue } from "bullmq";
import { registerQueueMetrics, type Logger, type Redis } from "@parley/runtime";
import type { Registry } from "prom-client";
import type { DeliveryConfig } from "./env.js";
import { createPresenceModule } from "./presence/presence-module.js";
import { createDeliveryMetrics } from "./metrics.js";
import type { DeliveryContext, DeliveryModule } from "./module.js";
import { createNotificationsModule } from "./notifications/notifications-module.js";
import type { Notifier } from "./notifications/notifier.js";
import { createReceiptsModule } from "./receipts/receipts-module.js";
import { createEventsMetrics } from "./events/events-metrics.js";
import { createEventsModule } from "./events/events-module.js";
import { createRetentionModule } from "./retention/retention-module.js";
import { createErasureModule } from "./erasure/erasure-module.js";

export interface DeliveryDeps {
  database: Database;
  workerRedis: Redis;
  publishRedis: Redis;
  registry: Registry;
  logger: Logger;
  keyspace: Keyspace;
  config: Pick<DeliveryConfig, "receipts" | "notifications" | "presence" | "events" | "retention" | "erasure">;
  /** Where offline notifications go; undefined turns them off (the hand-off is still consumed). */
  notifier?: Notifier | undefined;
}

export interface Delivery {
  modules: readonly DeliveryModule[];
  run(): void;
  /** Every module stops taking work and finishes what it holds; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The delivery service: a list of independent modules, each with its own queues and workers.
 * Receipts, offline notifications and presence; a new concern is one more entry in `modules`.
 */
export function buildDelivery(deps: DeliveryDeps): Delivery {
  const ctx: DeliveryContext = { ...deps, metrics: createDeliveryMetrics(deps.registry) };
  const eventsMetrics = createEventsMetrics(deps.registry);
  const events = deps.config.events ? createEventsModule(ctx, deps.config.events, eventsMetrics) : undefined;
  const onHandOff = events
    ? (data: unknown) =>
        events.queue.messagesCreated(data).then(
          (n) => eventsMetrics.queued.inc({ outcome: "queued" }, n),
          (err: unknown) => {
            eventsMetrics.queued.inc({ outcome: "failed" });
            throw err;
          },
        )
    : undefined;
  const modules: DeliveryModule[] = [
    createReceiptsModule(ctx, deps.config.receipts),
    createNotificationsModule(ctx, deps.config.notifications, deps.notifier, onHandOff),
    ...(events ? [events.module] : []),
    createRetentionModule(ctx, deps.config.retention),
    createErasureModule(ctx, deps.config.erasure),
    createPresenceModule({
      publishRedis: deps.publishRedis,
      database: deps.database,
      registry: deps.registry,
      logger: deps.logger,
      keyspace: deps.keyspace,
      config: deps.config.presence,
    }),
  ];

  // BullMQ's depth and totals of the queues this service consumes (it scales on them), read at
  // scrape time on the fail-fast connection so a scrape during an outage answers at once.
  const metricsQueues = (["receipts", "notify", "push", "events", "erasure", "retention"] as const).map((name) => {
    const queue = new Queue(name, { connection: deps.publishRedis, prefix: deps.keyspace.queuePrefix });
    queue.on("error", (err) => deps.logger.debug({ err: err.message, queue: name }, "metrics queue error"));
    return queue;
  });
  registerQueueMetrics({ registry: deps.registry, queues: metricsQueues, logger: deps.logger });

  let stopping: Promise<void> | undefined;
  return {
    modules,
    run: () => {
      for (const m of modules) m.start();
    },
    // Modules share nothing but the connections (closed by the caller afterwards), so they
    // drain side by side; one failing to stop is reported and the others still stop.
    stop: () =>
      (stopping ??= (async () => {
        const results = await Promise.allSettled(modules.map((m) => m.stop()));
        results.forEach((r, i) => {
          if (r.status === "rejected") deps.logger.error({ module: modules[i]!.name, err: String(r.reason) }, "module did not stop cleanly");
        });
        await Promise.allSettled(metricsQueues.map((q) => q.close()));
      })()),
  };
}
