import { UnrecoverableError, type Job } from "bullmq";
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
}

/**
 * One `events` job: the event as the webhook receives it, then one signed POST. A message
 * event carries the message as it is now, read when it is sent (the queue holds no text: an
 * event waiting through an outage never sends text that was deleted or erased meanwhile).
 */
export function createEventProcessor(deps: EventProcessorDeps) {
  return async (job: Job<unknown>): Promise<void> => {
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
      throw err;
    }
  };
}
