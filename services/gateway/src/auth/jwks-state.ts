import { Gauge, type Registry } from "prom-client";
import type { Logger } from "@parley/runtime";
import type { RemoteKeySetOptions } from "./remote-key-set.js";

/**
 * What the pod tells operators about its signing keys' source: a gauge that is 0 while the JWKS
 * endpoint is out of reach (tokens are verified with the last good key set, unknown keys are
 * answered UNAVAILABLE), 1 otherwise (always with JWT_SECRET), and a log line at each change.
 */
export function jwksStateReporter(registry: Registry, logger: Logger, url: string | undefined): NonNullable<RemoteKeySetOptions["onOutage"]> {
  const available = new Gauge({
    name: "parley_gateway_jwks_available",
    help: "1 while the token signing keys' source answers (always with JWT_SECRET); 0 while the JWKS endpoint is out of reach and tokens are verified with the last good key set (unknown keys answered UNAVAILABLE).",
    registers: [registry],
  });
  available.set(1);
  return (state, err) => {
    available.set(state === "up" ? 1 : 0);
    if (state === "down") logger.warn({ err: String(err), url }, "JWKS endpoint out of reach: verifying with the last key set; unknown keys answer UNAVAILABLE");
    else logger.info({ url }, "JWKS endpoint answers again");
  };
}
