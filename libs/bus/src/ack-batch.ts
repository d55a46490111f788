import { z } from "zod";
import { ClientEvents, ErrorBodySchema, UuidSchema } from "@parley/protocol";

/**
 * What a commit answers for one item: the stored message (`duplicate` when it had been stored
 * before, by an earlier try of the same send), or why it was not stored. The gateway answers
 * the send with it, so its ok side is the protocol's `message:send` ack.
 */
export const PersistOutcomeSchema = z.discriminatedUnion("ok", [
  ClientEvents["message:send"].ack.extend({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), error: ErrorBodySchema }),
]);
export type PersistOutcome = z.infer<typeof PersistOutcomeSchema>;

/**
 * One answer on a pod's ack channel. `itemId` is the id the gateway gave the item it appended,
 * so each send gets exactly its own outcome, whatever order commits come back in.
 */
export const AckSchema = z.object({ itemId: UuidSchema, outcome: PersistOutcomeSchema });
export type Ack = z.infer<typeof AckSchema>;

/** What the persister publishes on a pod's ack channel after a commit. */
export const AckBatchSchema = z.object({ acks: z.array(AckSchema) });
export type AckBatch = z.infer<typeof AckBatchSchema>;

/** A batch whose acks are not read yet: each is read on its own (decodeAckBatch). */
const AckBatchEnvelopeSchema = AckBatchSchema.extend({ acks: z.array(z.unknown()) });

export interface DecodedAckBatch {
  acks: Ack[];
  /** Acks of the batch that could not be read (and were left out). */
  unreadable: number;
}

/**
 * Reads one message of an ack channel; never throws. Undefined when it is not an ack batch at
 * all. Each ack is read on its own: one unreadable ack must not leave the others' senders waiting.
 */
export function decodeAckBatch(raw: string): DecodedAckBatch | undefined {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const batch = AckBatchEnvelopeSchema.safeParse(json);
  if (!batch.success) return undefined;
  const acks: Ack[] = [];
  for (const entry of batch.data.acks) {
    const ack = AckSchema.safeParse(entry);
    if (ack.success) acks.push(ack.data);
  }
  return { acks, unreadable: batch.data.acks.length - acks.length };
}
