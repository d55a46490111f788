import { sloAlerts, sloRecordingRules, type Slo } from "./burn-rate.js";
import type { RuleGroup } from "./rule.js";
import { BY_NAMESPACE, oneOf, SEND_ERROR_OUTCOMES } from "./selectors.js";

const sends = (window: string, matcher = "") =>
  `sum by (${BY_NAMESPACE}) (rate(parley_gateway_send_ack_seconds_count${matcher}[${window}]))`;

/**
 * 99 % of successful sends answered within 250 ms (the histogram has a 0.25 bucket). Errors
 * are left to the error objective, so an outage is not counted twice and a fast refusal
 * cannot make the latency look good.
 */
export const SEND_LATENCY_SLO: Slo = {
  alert: "ParleySendLatencyBurnRate",
  group: "parley-slo-send-latency",
  objective: 0.99,
  ratioRecord: "namespace:parley_send_ack_slow:ratio_rate",
  badRatio: (w) => `
    1 - (
      sum by (${BY_NAMESPACE}) (rate(parley_gateway_send_ack_seconds_bucket{outcome="ok",le="0.25"}[${w}]))
    /
      ${sends(w, `{outcome="ok"}`)}
    )`,
  summary: "Sends are acknowledged too slowly (send→ack latency objective)",
  badEvents: "Successful sends slower than 250 ms",
  objectiveText: "99 % of successful sends within 250 ms",
};

/**
 * 99.9 % of sends answered ok or with a refusal the contract prescribes. `or 0 * …` makes the
 * ratio 0 rather than absent while no error has ever been counted.
 */
export const SEND_ERROR_SLO: Slo = {
  alert: "ParleySendErrorBurnRate",
  group: "parley-slo-send-errors",
  objective: 0.999,
  ratioRecord: "namespace:parley_send_errors:ratio_rate",
  badRatio: (w) => `
    (
      ${sends(w, `{outcome=~"${oneOf(SEND_ERROR_OUTCOMES)}"}`)}
    or
      0 * ${sends(w)}
    )
    /
    ${sends(w)}`,
  summary: "Sends are failing (send error-ratio objective)",
  badEvents: `Sends answered ${SEND_ERROR_OUTCOMES.join(" or ")}`,
  objectiveText: "99.9 % of sends answered ok or with a refusal the contract prescribes",
};

export const sendSloGroups: RuleGroup[] = [SEND_LATENCY_SLO, SEND_ERROR_SLO].map((slo) => ({
  name: slo.group,
  rules: [...sloRecordingRules(slo), ...sloAlerts(slo)],
}));
