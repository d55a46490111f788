/**
 * Every rule aggregates per namespace: one Parley deployment per namespace under the
 * Prometheus Operator. Without Kubernetes the label is absent and the rules see one cluster.
 */
export const BY_NAMESPACE = "namespace";

/**
 * Parley's scrape jobs, for `up`: the Operator names them after the monitors
 * (`parley-gateway`, `parley/parley-workers`); a plain Prometheus should use names containing
 * "parley" too (docs/operations.md, "Alerts").
 */
export const PARLEY_JOBS = `job=~".*parley.*"`;

/**
 * Send outcomes that are the service's fault and count against the error objective: the
 * commit did not happen in time or at all. Every other code (VALIDATION, FORBIDDEN,
 * NOT_FOUND, CONFLICT, RATE_LIMITED, PAYLOAD_TOO_LARGE, UNAUTHORIZED) is the server working
 * as specified on a request it must refuse.
 */
export const SEND_ERROR_OUTCOMES = ["UNAVAILABLE", "INTERNAL"] as const;

/** Handshake refusals caused by the cluster itself (the dependency check or a bug). */
export const HANDSHAKE_SERVER_FAILURES = ["UNAVAILABLE", "INTERNAL"] as const;

/** Handshake refusals that, when they are most of them, point at configuration (keys, origins). */
export const HANDSHAKE_CONFIG_REFUSALS = ["AUTH_INVALID", "origin"] as const;

export const oneOf = (values: readonly string[]) => values.join("|");
