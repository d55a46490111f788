import type { ChainableCommander } from "ioredis";
import type { Keyspace } from "@parley/bus";

export type DeadLetterReason = "invalid" | "refused" | "redelivered";

/** The dead-letter stream keeps about this many entries (XADD MAXLEN ~): an operator's evidence, not a queue. */
export const DEAD_LETTER_MAXLEN = 100_000;

/**
 * Copies what could not be stored to the dead-letter stream: the reason, what went wrong, the
 * id of the persist entry it came from, and the entry's fields (for `refused`, only the
 * refused messages). Added to the turn's pipeline, so it lands before the entry's XACK.
 */
export function addDeadLetter(
  pipeline: ChainableCommander,
  keyspace: Keyspace,
  letter: { reason: DeadLetterReason; error: string; entryId: string; fields: readonly string[] },
): void {
  pipeline.xadd(
    keyspace.persist.dead,
    "MAXLEN",
    "~",
    DEAD_LETTER_MAXLEN,
    "*",
    "reason",
    letter.reason,
    "error",
    letter.error.slice(0, 2_000),
    "entry",
    letter.entryId,
    ...letter.fields,
  );
}
