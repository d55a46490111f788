import { setTimeout as sleep } from "node:timers/promises";
import type { DecodedEntry, PersistPartitionKeys } from "@parley/bus";
import { isTransientDbError, type PersistOutcome } from "@parley/db";
import type { Logger } from "@parley/runtime";
import type { PersisterMetrics } from "../metrics.js";
import type { AfterCommit } from "../publish/after-commit.js";
import type { DeadLetters } from "../publish/dead-letters.js";
import { retryDelayMs } from "../retry-delay.js";
import type { ReadGate } from "../stream/read-gate.js";
import type { CommitBatcher } from "./commit-batcher.js";
import { LaneStoppedError } from "./commit-lane.js";
import { PoisonItemsError } from "./poison-items-error.js";

export interface EntryHandlerDeps {
  batcher: Pick<CommitBatcher, "submit">;
  afterCommit: Pick<AfterCommit, "entryCommitted" | "announceAgain">;
  deadLetters: Pick<DeadLetters, "invalid" | "refused">;
  metrics: PersisterMetrics;
  logger: Logger;
  /** Held while a commit waits out a Postgres outage: no new entries are read meanwhile. */
  readGate: Pick<ReadGate, "hold">;
  /** Aborted on SIGTERM: an entry waiting to retry is left pending (re-read on restart or reclaimed). */
  signal: AbortSignal;
}

/**
 * Takes one persist stream entry to its end: committed (the after-commit module fans it out,
 * answers and XACKs it), or dead-lettered with its reason (dead-letters.ts), or (Postgres out
 * of reach) retried with backoff until it commits, never dead-lettered for that.
 *
 * An entry that was tried before (`redelivered`: re-read after a restart or reclaimed from a
 * dead pod; or retried here after a failed attempt whose COMMIT may have gone through with its
 * reply lost) may find its messages already stored by that earlier try, which may have died
 * before announcing them. Duplicates of such an entry are announced again (fan-out and push
 * hand-off): clients dedupe `message:new` by id, the notification store counts each seq once.
 */
export function createEntryHandler(deps: EntryHandlerDeps) {
  const { metrics, logger } = deps;

  /**
   * `onHeld` is called if some of the entry's messages wait for a conversation row another
   * transaction holds (commit-lane.ts): the reader then leaves the entry out of the admission
   * signal and of its read budget (stream-reader.ts).
   */
  return async function handle(
    partition: PersistPartitionKeys,
    id: string,
    decoded: DecodedEntry,
    fields: readonly string[],
    redelivered: boolean,
    onHeld?: () => void,
  ): Promise<void> {
    if (!decoded.ok) return deps.deadLetters.invalid(partition, id, decoded, fields);
    const { replyTo, items } = decoded.entry;
    let outcomes: PersistOutcome[] | undefined;
    let tried = redelivered;
    // Held from the first outage failure until this entry is done: no new entries are read
    // while it waits, so they wait in Redis (the backlog shows as parley_persist_stream_lag).
    let resume: (() => void) | undefined;
    try {
      for (let attempt = 0; outcomes === undefined; attempt++) {
        try {
          outcomes = await deps.batcher.submit(items, replyTo, onHeld);
        } catch (err) {
          if (isTransientDbError(err)) {
            metrics.entriesFailed.inc({ reason: "transient" });
            if (deps.signal.aborted) return;
            if (attempt === 0) logger.warn({ entry: id, partition: partition.index, err: String(err) }, "Postgres out of reach: the entry waits and is retried");
            resume ??= deps.readGate.hold();
            try {
              await sleep(retryDelayMs(attempt), undefined, { signal: deps.signal });
            } catch {
              return; // stopping: the entry stays pending
            }
            tried = true;
            continue;
          }
          // Stopping while its conversation's row was held: the entry stays pending.
          if (err instanceof LaneStoppedError) return;
          // Refused by Postgres (not an outage): the rest of the entry was committed and answered.
          const failed = err instanceof PoisonItemsError ? err.failed : items.map((_, i) => i);
          const reason = err instanceof PoisonItemsError ? err.reason : err instanceof Error ? err.message : String(err);
          deps.deadLetters.refused(
            partition,
            id,
            replyTo,
            failed.map((i) => items[i]!),
            reason,
            items.length,
          );
          return;
        }
      }
    } finally {
      resume?.();
    }
    if (tried) deps.afterCommit.announceAgain(outcomes);
    deps.afterCommit.entryCommitted(id, partition);
  };
}

export type EntryHandler = ReturnType<typeof createEntryHandler>;
