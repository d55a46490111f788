import { setTimeout as sleep } from "node:timers/promises";
import { PERSIST_ENTRY_VERSION, streamIdMs, type DecodedEntry, type Keyspace } from "@parley/bus";
import { isTransientDbError, type PersistOutcome } from "@parley/db";
import type { Logger } from "@parley/runtime";
import type { CommitBatcher } from "./commit-batcher.js";
import { addDeadLetter } from "../publish/dead-letters.js";
import type { FanOut } from "../publish/fan-out.js";
import type { PersisterMetrics } from "../metrics.js";
import { PoisonItemsError } from "./poison-items-error.js";
import type { TurnPipeline } from "../publish/turn-pipeline.js";

const STORE_FAILED = { code: "INTERNAL", message: "the message could not be stored" } as const;

/** Capped exponential backoff with jitter: 200 ms, 400 ms, … 5 s. */
export function retryDelayMs(attempt: number, initialMs = 200, maxMs = 5_000): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 16));
  return Math.round(base / 2 + (Math.random() * base) / 2);
}

export interface EntryHandlerDeps {
  batcher: CommitBatcher;
  pipeline: TurnPipeline;
  fanOut: FanOut;
  keyspace: Keyspace;
  metrics: PersisterMetrics;
  logger: Logger;
  /** Stops reading new entries while a commit waits out a Postgres outage; call the result to resume. */
  holdReading(): () => void;
  /** Aborted on SIGTERM: an entry waiting to retry is left pending (re-read on restart or reclaimed). */
  signal: AbortSignal;
}

/**
 * Takes one persist stream entry to its end: committed (fan-out, acks and XACK in the turn's
 * pipeline), or dead-lettered with its reason and acked, or (Postgres out of reach) retried
 * with backoff until it commits, never dead-lettered for that.
 */
export function createEntryHandler(deps: EntryHandlerDeps) {
  const { metrics, logger, pipeline } = deps;

  const refuse = (id: string, decoded: Extract<DecodedEntry, { ok: false }>, fields: readonly string[]) => {
    metrics.entriesFailed.inc({ reason: "poison" });
    metrics.deadLetters.inc({ reason: "invalid" });
    logger.error({ entry: id, err: decoded.reason }, "persist entry is invalid: dead-lettered");
    const p = pipeline.get();
    if (decoded.replyTo) deps.fanOut.refuse(p, decoded.replyTo, decoded.itemIds, STORE_FAILED);
    addDeadLetter(p, deps.keyspace, { reason: "invalid", error: decoded.reason, entryId: id, fields });
    pipeline.ack(id);
  };

  return async function handle(id: string, decoded: DecodedEntry, fields: readonly string[]): Promise<void> {
    if (!decoded.ok) return refuse(id, decoded, fields);
    const { replyTo, items } = decoded.entry;
    let outcomes: PersistOutcome[] | undefined;
    // Held from the first outage failure until this entry is done: no new entries are read
    // while it waits, so they wait in Redis (the backlog shows as parley_persist_stream_lag).
    let resume: (() => void) | undefined;
    try {
      for (let attempt = 0; outcomes === undefined; attempt++) {
        try {
          outcomes = await deps.batcher.submit(items, replyTo);
        } catch (err) {
          if (isTransientDbError(err)) {
            metrics.entriesFailed.inc({ reason: "transient" });
            if (deps.signal.aborted) return;
            if (attempt === 0) logger.warn({ entry: id, err: String(err) }, "Postgres out of reach: the entry waits and is retried");
            resume ??= deps.holdReading();
            try {
              await sleep(retryDelayMs(attempt), undefined, { signal: deps.signal });
            } catch {
              return; // stopping: the entry stays pending
            }
            continue;
          }
          // Refused by Postgres (not an outage): the rest of the entry was committed and answered.
          metrics.entriesFailed.inc({ reason: "poison" });
          metrics.deadLetters.inc({ reason: "refused" });
          const failed = err instanceof PoisonItemsError ? err.failed : items.map((_, i) => i);
          const reason = err instanceof PoisonItemsError ? err.reason : err instanceof Error ? err.message : String(err);
          logger.error({ entry: id, err: reason, refused: failed.length, items: items.length }, "messages refused by Postgres: dead-lettered");
          const refused = failed.map((i) => items[i]!);
          const p = pipeline.get();
          deps.fanOut.refuse(
            p,
            replyTo,
            refused.map((i) => i.id),
            STORE_FAILED,
          );
          addDeadLetter(p, deps.keyspace, {
            reason: "refused",
            error: reason,
            entryId: id,
            fields: ["v", PERSIST_ENTRY_VERSION, "replyTo", replyTo, "items", JSON.stringify(refused)],
          });
          pipeline.ack(id);
          return;
        }
      }
    } finally {
      resume?.();
    }
    metrics.lagSeconds.observe(Math.max(0, Date.now() - streamIdMs(id)) / 1000);
    pipeline.ack(id);
  };
}

export type EntryHandler = ReturnType<typeof createEntryHandler>;
