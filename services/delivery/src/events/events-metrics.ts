import { eachOf, startAtZero } from "@parley/runtime";
import { Counter, Histogram, type Registry } from "prom-client";

/** What became of one attempt to post an event: delivered, retried later, or dead (kept, replayable). */
export const EVENT_DELIVERY_OUTCOMES = ["delivered", "retry", "dead"] as const;

export type EventsMetrics = ReturnType<typeof createEventsMetrics>;

/** Registered whether or not an events webhook is configured, so the catalogue's families are always exported. */
export function createEventsMetrics(registry: Registry) {
  return {
    queued: startAtZero(
      new Counter({
        name: "parley_events_queued_total",
        help: "Events added to the events webhook's queue, by outcome (queued; failed: Redis refused the add, the event is lost and logged).",
        labelNames: ["outcome"] as const,
        registers: [registry],
      }),
      eachOf("outcome", ["queued", "failed"]),
    ),
    deliveries: startAtZero(
      new Counter({
        name: "parley_events_deliveries_total",
        help: "Attempts to post an event to the events webhook, by outcome (delivered; retry: failed, tried again with backoff; dead: out of attempts or refused, kept for replay).",
        labelNames: ["outcome"] as const,
        registers: [registry],
      }),
      eachOf("outcome", EVENT_DELIVERY_OUTCOMES),
    ),
    seconds: new Histogram({
      name: "parley_events_delivery_seconds",
      help: "One event POST from request to answer, by outcome (ok, error).",
      labelNames: ["outcome"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}
