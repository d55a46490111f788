/** The send→ack objective of the contract: p99 ≤ 250 ms. */
export const SEND_ACK_OBJECTIVE_SECONDS = 0.25;

/**
 * Send outcomes that are the service's fault: what the error objective (and its alert,
 * ParleySendErrorBurnRate) counts. Other codes (RATE_LIMITED, VALIDATION, CONFLICT, …) are the
 * server refusing as the contract prescribes.
 */
export const SERVER_ERRORS = `outcome=~"UNAVAILABLE|INTERNAL"`;

/** The error objective: 99.9 % of sends answered without a server error. */
export const SEND_ERROR_BUDGET = 0.001;

/** Parley's scrape jobs for `up` (the Prometheus Operator names them after the monitors: parley-gateway, parley/parley-workers). */
export const PARLEY_JOBS = `job=~".*parley.*"`;

/** BullMQ states that are work not done yet: a queue's depth. */
export const activeQueueStates = `state=~"waiting|active|delayed"`;

/** The event-loop delay above which the gateway sheds typing (TYPING_SHED_LOOP_DELAY_MS default). */
export const TYPING_SHED_DELAY_SECONDS = 0.1;
