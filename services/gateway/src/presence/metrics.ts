import { eachOf, startAtZero } from "@parley/runtime";
import { Counter, type Registry } from "prom-client";

export type PresenceMetrics = ReturnType<typeof createPresenceMetrics>;

/** The gateway's presence traffic. Base units, low-cardinality labels (never user ids). */
export function createPresenceMetrics(registry: Registry) {
  return {
    // Both start at 0 for every outcome, so a first failure is an increase alerts can see.
    heartbeats: startAtZero(
      new Counter({
        name: "parley_presence_heartbeats_total",
        help: "Pod heartbeats by outcome (ok; unknown: the pod had been swept and re-registers; error: Redis did not answer).",
        labelNames: ["outcome"] as const,
        registers: [registry],
      }),
      eachOf("outcome", ["ok", "unknown", "error"]),
    ),
    resyncs: startAtZero(
      new Counter({
        name: "parley_presence_resyncs_total",
        help: "Re-registrations of this pod's sockets (start, Redis reconnect, after a sweep or a failed call) by outcome.",
        labelNames: ["outcome"] as const,
        registers: [registry],
      }),
      eachOf("outcome", ["ok", "error"]),
    ),
  };
}
