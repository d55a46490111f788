/** The send→ack objective of the contract: p99 ≤ 250 ms. */
export const SEND_ACK_OBJECTIVE_SECONDS = 0.25;

/** BullMQ states that are work not done yet: a queue's depth. */
export const activeQueueStates = `state=~"waiting|active|delayed"`;

/**
 * Only Parley's processes: runtime metrics (process_*, nodejs_*) are exported by any Node or Go
 * process Prometheus scrapes, Prometheus itself included; Parley's carry the `service` label.
 */
export const parleyServices = `service=~"gateway|persister|delivery"`;

/** The event-loop delay above which the gateway sheds typing (TYPING_SHED_LOOP_DELAY_MS default). */
export const TYPING_SHED_DELAY_SECONDS = 0.1;
