import { alert, type RuleGroup } from "../rule.js";
import { BY_NAMESPACE } from "../selectors.js";

/**
 * Moderation without a usable answer: over 5 % of the sends shown to the webhook in 10 minutes
 * were decided by MODERATION_FAIL_OPEN (stored unreviewed, or refused REJECTED though nobody
 * judged them) or refused UNAVAILABLE because the pod's calls were at their cap. Needs a few
 * sends to say anything: at least 100 in the window.
 */
export const MODERATION_FAILURE_RATIO = 0.05;

/** The retention sweep is this far behind its deadlines (it ran out of batches), for an hour. */
export const RETENTION_LAG_THRESHOLD_SECONDS = 6 * 3600;

const moderated = (matcher = "") => `sum by (${BY_NAMESPACE}) (increase(parley_gateway_moderation_decisions_total${matcher}[10m]))`;

export const dataLifecycle: RuleGroup = {
  name: "parley-data-lifecycle",
  rules: [
    alert({
      name: "ParleyModerationFailing",
      severity: "warning",
      expr: `
        ${moderated(`{decision=~"failed_open|failed_closed|saturated"}`)} / ${moderated()} > ${MODERATION_FAILURE_RATIO}
        and
        ${moderated()} >= 100`,
      for: "10m",
      summary: "The moderation webhook gives no usable answer",
      description:
        "{{ $value | humanizePercentage }} of the sends shown to the moderation webhook in the last 10 minutes got no usable answer " +
        "(timed out, failed, or the pods' calls were at MODERATION_MAX_CONCURRENT): MODERATION_FAIL_OPEN decided for them.",
    }),
    alert({
      name: "ParleyRetentionBehind",
      severity: "warning",
      // Each replica reports its own last sweep; the one that ran it counts.
      expr: `max by (${BY_NAMESPACE}) (parley_retention_lag_seconds) > ${RETENTION_LAG_THRESHOLD_SECONDS}`,
      for: "1h",
      summary: "The retention sweep does not keep up",
      description:
        "Messages past their retention are still stored, the oldest {{ $value | humanizeDuration }} past it: " +
        "the sweeps run out of RETENTION_SWEEP_MAX_BATCHES before they catch up.",
    }),
  ],
};
