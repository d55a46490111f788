import { UnrecoverableError, type Job } from "bullmq";
import { JobCatalog, type JobData } from "@parley/bus";
import { isTransientDbError, type PersistOutcome } from "@parley/db";
import type { Logger } from "@parley/runtime";
import type { CommitBatcher } from "./commit-batcher.js";
import { PoisonItemsError } from "./poison-items-error.js";
import type { PersisterMetrics } from "./metrics.js";

export interface PersistProcessorDeps {
  batcher: CommitBatcher;
  metrics: PersisterMetrics;
  logger: Logger;
  /** Answers the senders of refused messages so they are not left waiting for a timeout. */
  answerRefused(data: JobData<"persist">, items: JobData<"persist">["items"], outcomes: PersistOutcome[]): void;
}

/**
 * Handles one `persist` job: validates it, hands its items to the batcher and returns once
 * they are committed (the fan-out and acks were issued by the batcher's commit hook).
 *
 * - Postgres out of reach: the job throws and BullMQ retries it with backoff.
 * - A job that cannot be stored (bad data, a row Postgres refuses): fails for good with its
 *   reason (UnrecoverableError), and its senders get INTERNAL: it never blocks the queue.
 */
export function createPersistProcessor(deps: PersistProcessorDeps) {
  return async (job: Job<unknown>): Promise<{ stored: number; duplicates: number; refused: number }> => {
    const parsed = JobCatalog.persist.data.safeParse(job.data);
    if (!parsed.success) {
      deps.metrics.jobsFailed.inc({ reason: "poison" });
      deps.logger.error({ jobId: job.id, issues: parsed.error.issues.slice(0, 3) }, "persist job has invalid data");
      throw new UnrecoverableError(`invalid job data: ${parsed.error.issues[0]?.message ?? "unknown"}`);
    }
    const data = parsed.data;
    let outcomes: PersistOutcome[];
    try {
      outcomes = await deps.batcher.submit(data.items, data.replyTo);
    } catch (err) {
      if (isTransientDbError(err)) {
        deps.metrics.jobsFailed.inc({ reason: "transient" });
        throw err;
      }
      deps.metrics.jobsFailed.inc({ reason: "poison" });
      // Only the refused messages are answered here: the rest were committed and answered.
      const failed = err instanceof PoisonItemsError ? err.failed : data.items.map((_, i) => i);
      const reason = err instanceof PoisonItemsError ? err.reason : err instanceof Error ? err.message : String(err);
      deps.logger.error({ jobId: job.id, err: reason, refused: failed.length, items: data.items.length }, "persist job refused by Postgres");
      deps.answerRefused(
        data,
        failed.map((i) => data.items[i]!),
        failed.map(() => ({ ok: false, error: { code: "INTERNAL", message: "the message could not be stored" } })),
      );
      throw new UnrecoverableError(`refused by Postgres: ${reason}`);
    }
    const lagSeconds = (Date.now() - job.timestamp) / 1000;
    deps.metrics.lagSeconds.observe(lagSeconds);
    let stored = 0;
    let duplicates = 0;
    for (const o of outcomes) {
      if (o.ok && o.duplicate) duplicates++;
      else if (o.ok) stored++;
    }
    return { stored, duplicates, refused: outcomes.length - stored - duplicates };
  };
}
