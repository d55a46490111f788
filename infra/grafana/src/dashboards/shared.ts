/** The send→ack objective of the contract: p99 ≤ 250 ms. */
export const SEND_ACK_OBJECTIVE_SECONDS = 0.25;

/** BullMQ states that are work not done yet: a queue's depth. */
export const activeQueueStates = `state=~"waiting|active|delayed"`;

/** The event-loop delay above which the gateway sheds typing (TYPING_SHED_LOOP_DELAY_MS default). */
export const TYPING_SHED_DELAY_SECONDS = 0.1;
