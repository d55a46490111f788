import { DelayedError, UnrecoverableError, type Job } from "bullmq";
import { JobCatalog } from "@parley/bus";
import { readMessageById, type Database } from "@parley/db";
import type { WebhookEvent } from "@parley/protocol";
import type { Logger } from "@parley/runtime";
import type { EventSender } from "./event-sender.js";
import type { EventsMetrics } from "./events-metrics.js";

export interface EventProcessorDeps {
  database: Database;
  send: EventSender;
  metrics: EventsMetrics;
  logger: Logger;
  /** Tries per event (EVENTS_WEBHOOK_ATTEMPTS) and the first retry's delay, doubling (EVENTS_WEBHOOK_BACKOFF_MS). */
  attempts: number;
  backoffMs: number;
}

/** The delay before try `tried + 1`: backoffMs, doubling, capped at an hour. */
export const retryDelayMs = (backoffMs: number, tried: number) => Math.min(3_600_000, backoffMs * 2 ** Math.max(0, tried - 1));

/**
 * One `events` job: the event as the webhook receives it, then one signed POST. A message
 * event carries the message as it is now, read when it is sent (the queue holds no text: an
 * event waiting through an outage never sends text that was deleted or erased meanwhile).
 *
 * Retries are this service's policy, not the queuer's: events are queued by the gateways and by
 * this service alike, and only the delivery service knows EVENTS_WEBHOOK_ATTEMPTS and
 * EVENTS_WEBHOOK_BACKOFF_MS. A failed try moves the job back to the delayed set itself (BullMQ's
 * manual retry: moveToDelayed + DelayedError), counted by the job's `attemptsStarted`; once the
 * tries are spent, or the receiver refuses the event, the job fails for good: a dead event,
 * kept for replay.
 */
export function createEventProcessor(deps: EventProcessorDeps) {
  return async (job: Job<unknown>, token?: string): Promise<void> => {
    const parsed = JobCatalog.events.data.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error({ jobId: job.id, issues: parsed.error.issues.slice(0, 3) }, "events job has invalid data");
      throw new UnrecoverableError("invalid events job data");
    }
    const queued = parsed.data;
    let event: WebhookEvent = queued;
    if (queued.type === "message.created" || queued.type === "message.updated") {
      const messageId = typeof queued.data.messageId === "string" ? queued.data.messageId : undefined;
      const message = messageId ? await readMessageById(deps.database.sql, messageId) : undefined;
      if (!message) throw new UnrecoverableError(`the message of event ${queued.id} is not stored`);
      event = { ...queued, data: { message } };
    }
    const started = performance.now();
    try {
      await deps.send(event);
      deps.metrics.seconds.observe({ outcome: "ok" }, (performance.now() - started) / 1000);
    } catch (err) {
      deps.metrics.seconds.observe({ outcome: "error" }, (performance.now() - started) / 1000);
      if (err instanceof UnrecoverableError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      const tried = job.attemptsStarted;
      if (tried >= deps.attempts) throw new UnrecoverableError(`out of attempts (${tried}): ${reason}`);
      deps.metrics.deliveries.inc({ outcome: "retry" });
      deps.logger.info({ eventId: job.id, tried, reason }, "event not delivered; retrying with backoff");
      await job.moveToDelayed(Date.now() + retryDelayMs(deps.backoffMs, tried), token);
      throw new DelayedError();
    }
  };
}
