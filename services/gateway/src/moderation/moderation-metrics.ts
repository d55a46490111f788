import { eachOf, startAtZero } from "@parley/runtime";
import { Counter, Histogram, type Registry } from "prom-client";

/**
 * What became of a send shown to the moderation webhook: its answer (allow, reject, replace),
 * or, when it did not answer in time or answered nonsense, what MODERATION_FAIL_OPEN made of
 * it (failed_open, failed_closed), or the pod's cap on calls in flight was full (saturated).
 */
export const MODERATION_DECISIONS = ["allow", "reject", "replace", "failed_open", "failed_closed", "saturated"] as const;
export type ModerationOutcome = (typeof MODERATION_DECISIONS)[number];

/** How a webhook call ended, for its latency: an answer, or an error (time-out, status, body). */
export const MODERATION_CALL_OUTCOMES = ["allow", "reject", "replace", "error"] as const;

export type ModerationMetrics = ReturnType<typeof createModerationMetrics>;

/** Registered whether or not a webhook is configured, so the catalogue's families are always exported. */
export function createModerationMetrics(registry: Registry) {
  return {
    decisions: startAtZero(
      new Counter({
        name: "parley_gateway_moderation_decisions_total",
        help: "Sends shown to the moderation webhook, by decision (allow, reject, replace; failed_open, failed_closed: no usable answer, MODERATION_FAIL_OPEN decided; saturated: refused UNAVAILABLE before the call, the pod's calls in flight at their cap).",
        labelNames: ["decision"] as const,
        registers: [registry],
      }),
      eachOf("decision", MODERATION_DECISIONS),
    ),
    seconds: new Histogram({
      name: "parley_gateway_moderation_seconds",
      help: "Moderation webhook calls from request to answer, by outcome (allow, reject, replace, error).",
      labelNames: ["outcome"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
