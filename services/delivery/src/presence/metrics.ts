import { eachOf, startAtZero } from "@parley/runtime";
import { Counter, Histogram, type Registry } from "prom-client";

export type AnnouncerMetrics = ReturnType<typeof createAnnouncerMetrics>;

/** Presence announcements and sweeps. Base units, low-cardinality labels (never user ids). */
export function createAnnouncerMetrics(registry: Registry) {
  return {
    events: new Counter({
      name: "parley_presence_events_total",
      help: "presence events published (one broadcast per status change, to the user's conversation rooms), by status.",
      labelNames: ["status"] as const,
      registers: [registry],
    }),
    coalesced: new Counter({
      name: "parley_presence_coalesced_total",
      help: "Dirty users taken whose status had not changed since it was last announced (flapped within one window): nothing sent.",
      registers: [registry],
    }),
    deferred: new Counter({
      name: "parley_presence_offline_deferred_total",
      help: "Takes of users offline for less than the grace period: left dirty for a later window (a quick reconnect then announces nothing).",
      registers: [registry],
    }),
    sweeps: startAtZero(
      new Counter({
        name: "parley_presence_sweeps_total",
        help: "Sweeps for pods whose heartbeat is older than the TTL, by outcome (ok, error).",
        labelNames: ["outcome"] as const,
        registers: [registry],
      }),
      eachOf("outcome", ["ok", "error"]),
    ),
    sweptPods: new Counter({
      name: "parley_presence_swept_pods_total",
      help: "Gateway pods declared dead (heartbeat older than the TTL) and their socket counts subtracted.",
      registers: [registry],
    }),
    flushSeconds: new Histogram({
      name: "parley_presence_flush_duration_seconds",
      help: "One flush: take the dirty users, look up their conversations, publish, store last-seen times.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    flushErrors: new Counter({
      name: "parley_presence_flush_errors_total",
      help: "Flushes that failed (Redis or Postgres out of reach); the taken changes are retried on the next tick.",
      registers: [registry],
    }),
    lastSeenWriteErrors: new Counter({
      name: "parley_presence_last_seen_write_errors_total",
      help: "Announced offline changes whose lastSeenAt could not be kept in Postgres (Redis still has it; not retried).",
      registers: [registry],
    }),
  };
}
