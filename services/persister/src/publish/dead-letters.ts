import { PERSIST_ENTRY_VERSION, type DecodedEntry, type PersistPartitionKeys } from "@parley/bus";
import type { PersistItem } from "@parley/db";
import type { Logger } from "@parley/runtime";
import { STORE_FAILED } from "../commit/poison-items-error.js";
import type { PersisterMetrics } from "../metrics.js";
import type { FanOut } from "./fan-out.js";
import type { TurnPipeline } from "./turn-pipeline.js";

export type DeadLetterReason = "invalid" | "refused" | "redelivered";

/** The dead-letter stream keeps about this many entries (XADD MAXLEN ~): an operator's evidence, not a queue. */
export const DEAD_LETTER_MAXLEN = 100_000;

export interface DeadLettersDeps {
  pipeline: Pick<TurnPipeline, "get" | "ack">;
  fanOut: Pick<FanOut, "refuse">;
  metrics: PersisterMetrics;
  logger: Logger;
}

interface Letter {
  /** The partition the entry came from: the letter goes to its dead-letter stream. */
  partition: PersistPartitionKeys;
  reason: DeadLetterReason;
  /** The persist entry it came from. */
  entryId: string;
  /** What went wrong (kept to 2,000 characters). */
  error: string;
  /** The entry's fields as kept in the letter (for `refused`, only the refused messages). */
  fields: readonly string[];
  /** The senders still waiting for these messages: answered INTERNAL. */
  answer?: { replyTo: string; itemIds: readonly string[] } | undefined;
  log: { message: string; context: Record<string, unknown> };
}

/**
 * The one writer of the dead-letter stream. Whatever the reason, an entry (or the refused
 * messages of one) is counted, logged, its waiting senders are answered INTERNAL, its letter
 * (the reason, the error, the entry id and the fields) is added to the turn's pipeline, and
 * then its XACK: the letter lands before the entry leaves the consumer group, so a crash in
 * between loses nothing (the entry is re-read and dead-lettered again).
 */
export class DeadLetters {
  constructor(private readonly deps: DeadLettersDeps) {}

  /** An entry that does not decode: nothing of it can be stored. */
  invalid(partition: PersistPartitionKeys, entryId: string, decoded: Extract<DecodedEntry, { ok: false }>, fields: readonly string[]): void {
    this.write({
      partition,
      reason: "invalid",
      entryId,
      error: decoded.reason,
      fields,
      answer: decoded.replyTo ? { replyTo: decoded.replyTo, itemIds: decoded.itemIds } : undefined,
      log: { message: "persist entry is invalid: dead-lettered", context: { err: decoded.reason } },
    });
  }

  /** Messages Postgres refused (not an outage); the rest of their entry was committed and answered. */
  refused(partition: PersistPartitionKeys, entryId: string, replyTo: string, refused: readonly PersistItem[], reason: string, entryItems: number): void {
    this.write({
      partition,
      reason: "refused",
      entryId,
      error: reason,
      fields: ["v", PERSIST_ENTRY_VERSION, "replyTo", replyTo, "items", JSON.stringify(refused)],
      answer: { replyTo, itemIds: refused.map((i) => i.id) },
      log: { message: "messages refused by Postgres: dead-lettered", context: { err: reason, refused: refused.length, items: entryItems } },
    });
  }

  /** An entry delivered more than the allowed times without a commit (a crash loop?). */
  redelivered(partition: PersistPartitionKeys, entryId: string, fields: readonly string[], deliveries: number): void {
    this.write({
      partition,
      reason: "redelivered",
      entryId,
      error: `delivered ${deliveries} times`,
      fields,
      log: { message: "persist entry delivered too often (a crash loop?): dead-lettered", context: { deliveries } },
    });
  }

  private write(letter: Letter): void {
    const { pipeline, fanOut, metrics, logger } = this.deps;
    metrics.entriesFailed.inc({ reason: "poison" });
    metrics.deadLetters.inc({ reason: letter.reason });
    logger.error({ entry: letter.entryId, partition: letter.partition.index, ...letter.log.context }, letter.log.message);
    const p = pipeline.get();
    if (letter.answer) fanOut.refuse(p, letter.answer.replyTo, letter.answer.itemIds, STORE_FAILED);
    p.xadd(
      letter.partition.dead,
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
    pipeline.ack(letter.entryId, letter.partition);
  }
}
