import { alert, record, type RuleGroup } from "../rule.js";
import { BY_NAMESPACE } from "../selectors.js";

/**
 * Enqueue→commit p99 above half a second for 10 minutes. The send answer waits for the commit,
 * so this much lag alone spends twice the 250 ms latency objective and a third of the 1.5 s
 * send deadline. A cause, not a symptom: a ticket; the send objectives page when users feel it.
 */
export const PERSISTER_LAG_THRESHOLD_SECONDS = 0.5;

export const persisterLag: RuleGroup = {
  name: "parley-persister",
  rules: [
    record(
      "namespace:parley_persist_lag_seconds:p99_rate5m",
      `histogram_quantile(0.99, sum by (${BY_NAMESPACE}, le) (rate(parley_persist_lag_seconds_bucket[5m])))`,
    ),
    alert({
      name: "ParleyPersisterLag",
      severity: "ticket",
      expr: `namespace:parley_persist_lag_seconds:p99_rate5m > ${PERSISTER_LAG_THRESHOLD_SECONDS}`,
      for: "10m",
      summary: "Messages wait too long between the gateway's enqueue and the Postgres commit",
      description:
        "The 99th percentile of enqueue→commit lag has been {{ $value | humanizeDuration }} for 10 minutes " +
        `(threshold ${PERSISTER_LAG_THRESHOLD_SECONDS * 1000} ms); every send's answer waits for its commit.`,
    }),
  ],
};
