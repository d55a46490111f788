import { alert, type RuleGroup } from "../rule.js";
import { BY_NAMESPACE } from "../selectors.js";

/**
 * One alert per service and dependency, counting the pods that cannot reach it: a Redis or
 * Postgres outage is one page per service, not one per pod.
 */
export const dependencyDown: RuleGroup = {
  name: "parley-dependencies",
  rules: [
    alert({
      name: "ParleyDependencyDown",
      severity: "critical",
      expr: `count by (${BY_NAMESPACE}, service, dependency) (parley_up == 0)`,
      for: "2m",
      summary: "Parley pods cannot reach Redis or Postgres",
      description:
        "Pods of {{ $labels.service }} that have not reached {{ $labels.dependency }} for 2 minutes: {{ $value }}. " +
        "Sends and handshakes through them are answered UNAVAILABLE.",
    }),
  ],
};
