import type { PersistOutcome } from "@parley/db";

/** The answer to a send that will not be stored (its entry or its message was refused). */
export const STORE_FAILED = { code: "INTERNAL", message: "the message could not be stored" } as const;

/**
 * Some messages of an entry could not be stored for a reason that is not an outage (Postgres
 * refused them). The rest of the entry was committed and answered; `outcomes` holds every
 * item's answer, `failed` the positions of the refused ones, `reason` what Postgres said.
 */
export class PoisonItemsError extends Error {
  override readonly name = "PoisonItemsError";
  constructor(
    readonly outcomes: PersistOutcome[],
    readonly failed: number[],
    readonly reason: string,
  ) {
    super(`refused by Postgres: ${reason}`);
  }
}

export const refusedOutcome = (): PersistOutcome => ({ ok: false, error: { ...STORE_FAILED } });
