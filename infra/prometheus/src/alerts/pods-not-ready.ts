import { alert, type RuleGroup } from "../rule.js";
import { BY_NAMESPACE, PARLEY_JOBS } from "../selectors.js";

/**
 * A pod is unavailable when Prometheus cannot scrape it (`up == 0`: crashed, stuck, or not
 * answering) or it says it is not ready (`parley_ready == 0`: draining, or a dependency out
 * of reach). The two never count one pod twice: a pod that is not scraped has no
 * `parley_ready`. A drain lasts under 30 s, far below either `for`.
 */
const unavailable = `(up{${PARLEY_JOBS}} == 0) or (parley_ready == 0)`;

export const podsNotReady: RuleGroup = {
  name: "parley-pods",
  rules: [
    alert({
      name: "ParleyPodsNotReady",
      severity: "critical",
      expr: `
        count by (${BY_NAMESPACE}, job) (${unavailable})
        /
        count by (${BY_NAMESPACE}, job) (up{${PARLEY_JOBS}})
        >= 0.5`,
      for: "5m",
      summary: "Half or more of a Parley job's pods are down or not ready",
      description: "{{ $value | humanizePercentage }} of the pods of {{ $labels.job }} have been down or not ready for 5 minutes.",
    }),
    alert({
      name: "ParleyPodsNotReady",
      severity: "warning",
      expr: unavailable,
      for: "10m",
      summary: "A Parley pod is down or not ready",
      description: "{{ $labels.instance }} ({{ $labels.job }}) has been down or not ready for 10 minutes.",
    }),
  ],
};
