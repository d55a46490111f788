import { alert, record, type RuleGroup } from "../rule.js";
import { BY_NAMESPACE } from "../selectors.js";

/**
 * Stream entry added→commit p99 above half a second for 10 minutes. The send answer waits for
 * the commit, so this much lag alone spends twice the 250 ms latency objective and a third of
 * the 1.5 s send deadline. A cause, not a symptom: a warning; the send objectives go critical when
 * users feel it.
 */
export const PERSISTER_LAG_THRESHOLD_SECONDS = 0.5;

/**
 * The oldest entry read by a persister and not committed, counted from when it was added. A
 * healthy entry is committed within milliseconds of being read; one whose persister died is
 * claimed by another persister once idle for PERSIST_CLAIM_IDLE_MS (30 s by default: keep this
 * threshold above it), and one delivered PERSIST_MAX_DELIVERIES times without a commit goes to
 * the dead-letter stream. An entry this old for 5 minutes means neither happens: a persister
 * hung without dying, or Postgres has been away that long (ParleyDependencyDown pages for that).
 * Its senders were answered UNAVAILABLE long ago and retry; the entry is still owed a commit.
 */
export const STUCK_PENDING_THRESHOLD_SECONDS = 60;

export const persisterLag: RuleGroup = {
  name: "parley-persister",
  rules: [
    record(
      "namespace:parley_persist_lag_seconds:p99_rate5m",
      `histogram_quantile(0.99, sum by (${BY_NAMESPACE}, le) (rate(parley_persist_lag_seconds_bucket[5m])))`,
    ),
    // Every persister pod exports the same value, read from Redis at scrape time: max, not sum.
    record(
      "namespace_partition:parley_persist_stream_oldest_pending_seconds:max",
      `max by (${BY_NAMESPACE}, partition) (parley_persist_stream_oldest_pending_seconds)`,
    ),
    alert({
      name: "ParleyPersisterLag",
      severity: "warning",
      expr: `namespace:parley_persist_lag_seconds:p99_rate5m > ${PERSISTER_LAG_THRESHOLD_SECONDS}`,
      for: "10m",
      summary: "Messages wait too long between the gateway's enqueue and the Postgres commit",
      description:
        "The 99th percentile of enqueue→commit lag has been {{ $value | humanizeDuration }} for 10 minutes " +
        `(threshold ${PERSISTER_LAG_THRESHOLD_SECONDS * 1000} ms); every send's answer waits for its commit.`,
    }),
    alert({
      name: "ParleyPersisterLag",
      severity: "warning",
      cause: "stuck_pending",
      expr: `namespace_partition:parley_persist_stream_oldest_pending_seconds:max > ${STUCK_PENDING_THRESHOLD_SECONDS}`,
      for: "5m",
      summary: "A persist stream entry read by a persister has not been committed for minutes",
      description:
        "The oldest entry of persist partition {{ $labels.partition }}'s pending list was added {{ $value | humanizeDuration }} ago and is " +
        `still not committed (threshold ${STUCK_PENDING_THRESHOLD_SECONDS} s for 5 minutes): it is neither reclaimed ` +
        "nor dead-lettered.",
    }),
  ],
};
