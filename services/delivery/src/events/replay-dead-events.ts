import type { Queue } from "bullmq";
import type { Logger } from "@parley/runtime";

/**
 * Dead events (out of attempts, or refused by the receiver) back to the queue, each with its
 * attempts reset, so each gets the whole retry schedule again. The failed list is read first
 * and then replayed, so an event that fails again while this runs is not replayed twice.
 * Returns how many were replayed.
 */
export async function replayDeadEvents(queue: Queue, logger: Logger, pageSize = 500): Promise<number> {
  const ids: string[] = [];
  for (let start = 0; ; start += pageSize) {
    const jobs = await queue.getFailed(start, start + pageSize - 1);
    for (const j of jobs) if (j.id) ids.push(j.id);
    if (jobs.length < pageSize) break;
  }
  let replayed = 0;
  for (const id of ids) {
    const job = await queue.getJob(id);
    if (!job || (await job.getState()) !== "failed") continue;
    await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    replayed++;
  }
  logger.info({ replayed, found: ids.length }, "dead events replayed");
  return replayed;
}
