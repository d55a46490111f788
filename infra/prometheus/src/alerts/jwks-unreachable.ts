import { alert, type RuleGroup } from "../rule.js";
import { BY_NAMESPACE } from "../selectors.js";

/**
 * Gateways that cannot reach the JWKS endpoint (`parley_gateway_jwks_available` 0). They keep
 * verifying with the last good key set, so users notice nothing until the issuer rotates its
 * keys: from then on every new token is answered UNAVAILABLE (clients retry) until the endpoint
 * answers again. Warning after 10 minutes (a short blip of the identity provider recovers by
 * itself; a rotation rarely lands inside one); valued by the number of pods that cannot reach it.
 */
export const jwksUnreachable: RuleGroup = {
  name: "parley-jwks",
  rules: [
    alert({
      name: "ParleyJwksUnreachable",
      severity: "warning",
      expr: `count by (${BY_NAMESPACE}) (parley_gateway_jwks_available == 0)`,
      for: "10m",
      summary: "Gateways cannot reach the JWKS endpoint",
      description:
        "{{ $value }} gateway pods have not reached JWT_JWKS_URL for 10 minutes. They verify with the last key set they fetched: tokens signed by a key published since are answered UNAVAILABLE.",
    }),
  ],
};
