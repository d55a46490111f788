import { alert, type RuleGroup } from "../rule.js";

/** Every service Parley deploys; each exports `parley_ready` from every pod. */
export const PARLEY_SERVICES = ["gateway", "persister", "delivery"] as const;

/**
 * No pod of a service is scraped at all: every pod crashed, the Deployment was scaled to zero
 * or deleted, or the scrape configuration lost it (a renamed monitor, a label change). Then
 * ParleyPodsNotReady cannot fire (it counts the pods Prometheus sees, and it sees none) and
 * every alert reading the service's metrics stays quiet however bad things are. `absent()`
 * keeps the `service` label of the selector, so the alert names the missing service.
 * Critical: nothing watches that service any more (for a gateway: nobody can connect).
 */
export const metricsAbsent: RuleGroup = {
  name: "parley-metrics-absent",
  rules: [
    alert({
      name: "ParleyMetricsAbsent",
      severity: "critical",
      expr: PARLEY_SERVICES.map((service) => `absent(parley_ready{service="${service}"})`).join("\nor\n"),
      for: "5m",
      summary: "A Parley service exports no metrics",
      description:
        "No pod of {{ $labels.service }} has been scraped for 5 minutes: it is not running, or Prometheus no longer finds it. " +
        "Its other alerts cannot fire meanwhile.",
    }),
  ],
};
