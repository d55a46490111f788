import { alert, record, type RuleGroup } from "../rule.js";
import { BY_NAMESPACE, HANDSHAKE_CONFIG_REFUSALS, HANDSHAKE_SERVER_FAILURES, oneOf } from "../selectors.js";

const handshakes = (window: string, matcher = "") =>
  `sum by (${BY_NAMESPACE}) (rate(parley_gateway_handshakes_total${matcher}[${window}]))`;

/** A ratio over few handshakes says nothing: at least this many in the window. */
const MIN_HANDSHAKES_15M = 100;

/**
 * Two failure modes. Server-side refusals (UNAVAILABLE, INTERNAL) mean clients cannot get in
 * at all: critical. Auth refusals are normally the clients' business (an expired token is renewed,
 * a wrong one is an attacker's or a bug's) and draining refusals are rollouts, so they are left
 * out; but when most handshakes are AUTH_INVALID or refused for their origin, the gateways'
 * key, issuer, audience or CORS_ORIGINS is wrong for everyone: warning.
 */
export const handshakeFailures: RuleGroup = {
  name: "parley-handshakes",
  rules: [
    record(
      "namespace:parley_handshake_server_failures:ratio_rate5m",
      `
      (
        ${handshakes("5m", `{outcome=~"${oneOf(HANDSHAKE_SERVER_FAILURES)}"}`)}
      or
        0 * ${handshakes("5m")}
      )
      /
      ${handshakes("5m")}`,
    ),
    record(
      "namespace:parley_handshake_config_refusals:ratio_rate15m",
      `
      (
        ${handshakes("15m", `{outcome=~"${oneOf(HANDSHAKE_CONFIG_REFUSALS)}"}`)}
      or
        0 * ${handshakes("15m")}
      )
      /
      ${handshakes("15m")}`,
    ),
    alert({
      name: "ParleyHandshakeFailures",
      severity: "critical",
      expr: `namespace:parley_handshake_server_failures:ratio_rate5m > 0.1`,
      for: "5m",
      summary: "Socket handshakes fail on the server's side",
      description:
        "{{ $value | humanizePercentage }} of socket handshakes were refused UNAVAILABLE or INTERNAL over the last 5 minutes " +
        "(threshold 10 %): clients cannot connect.",
    }),
    alert({
      name: "ParleyHandshakeFailures",
      severity: "warning",
      expr: `
        namespace:parley_handshake_config_refusals:ratio_rate15m > 0.5
        and
        ${handshakes("15m")} * 900 >= ${MIN_HANDSHAKES_15M}`,
      for: "15m",
      summary: "Most socket handshakes are refused for their token or origin",
      description:
        "{{ $value | humanizePercentage }} of socket handshakes over the last 15 minutes were refused AUTH_INVALID or " +
        "for their Origin (threshold 50 %): check the JWT key, issuer, audience and CORS_ORIGINS.",
    }),
  ],
};
