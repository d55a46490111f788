import type { Queue } from "bullmq";
import { JobCatalog } from "@parley/bus";
import type { QueuedEvent } from "@parley/protocol";
import type { Logger } from "@parley/runtime";
import { eachOf, startAtZero } from "@parley/runtime";
import { Counter, type Registry } from "prom-client";

/**
 * Queues events for the events webhook (EVENTS_WEBHOOK_URL; the delivery service posts them).
 * `publish` never waits: it is called after the change is committed and answered, and a slow
 * or dead Redis costs the request nothing (the add fails on the fail-fast connection, is logged
 * and counted).
 */
export interface EventPublisher {
  publish(event: QueuedEvent): void;
}

/** No events webhook configured: nothing is queued. */
export const noEvents: EventPublisher = { publish: () => {} };

export const EVENT_QUEUE_OUTCOMES = ["queued", "failed"] as const;

/** parley_events_queued_total: the gateway's and the delivery service's adds to the events queue. */
export function createEventQueueMetrics(registry: Registry) {
  return startAtZero(
    new Counter({
      name: "parley_events_queued_total",
      help: "Events added to the events webhook's queue, by outcome (queued; failed: Redis refused the add, the event is lost and logged).",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    eachOf("outcome", EVENT_QUEUE_OUTCOMES),
  );
}

export function queueEventPublisher(deps: { queue: Queue; logger: Logger; queued: ReturnType<typeof createEventQueueMetrics> }): EventPublisher {
  return {
    publish(event) {
      deps.queue.add("events", event, { ...JobCatalog.events.options, jobId: event.id }).then(
        () => deps.queued.inc({ outcome: "queued" }),
        (err: unknown) => {
          deps.queued.inc({ outcome: "failed" });
          deps.logger.warn({ err: err instanceof Error ? err.message : String(err), eventId: event.id, type: event.type }, "event not queued");
        },
      );
    },
  };
}
