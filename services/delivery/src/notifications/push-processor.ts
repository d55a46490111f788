import { UnrecoverableError, type Job } from "bullmq";
import { JobCatalog, type Keyspace } from "@parley/bus";
import { readSeqOf, type Database } from "@parley/db";
import type { Logger, Redis } from "@parley/runtime";
import type { DeliveryMetrics } from "../metrics.js";
import { onlineUsers } from "../presence-reader.js";
import type { CollapseStore } from "./collapse-store.js";
import { NotificationRejectedError } from "./notification-rejected-error.js";
import type { Notification, Notifier } from "./notifier.js";
import { readWindowMessages } from "./window-messages.js";

export interface PushDeps {
  database: Database;
  redis: Redis;
  keyspace: Keyspace;
  store: CollapseStore;
  notifier: Notifier;
  metrics: DeliveryMetrics;
  logger: Logger;
  /** Characters of the latest message's text in a notification; 0 sends none. */
  previewChars: number;
}

export type PushOutcome = "sent" | "online" | "read" | "deleted" | "not_member" | "stale";

/**
 * One collapse window, when its delay is over: skipped if the recipient came online, read up
 * to its latest message, or every unread message of it was deleted meanwhile; otherwise one
 * notification with the count and the latest message, both read from Postgres on each attempt
 * (a message deleted since is left out, an edited one shows its current text). Failures the
 * receiver may get over are thrown (BullMQ retries with backoff); a refusal stops the retries
 * at once (UnrecoverableError) with its reason.
 */
export function createPushProcessor(deps: PushDeps) {
  return async (job: Job<unknown>): Promise<PushOutcome> => {
    const parsed = JobCatalog.push.data.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error({ jobId: job.id, issues: parsed.error.issues.slice(0, 3) }, "push job has invalid data");
      throw new UnrecoverableError("invalid push job data");
    }
    const { conversationId, recipientId, window } = parsed.data;
    // Once the outcome is settled, forgetting the snapshot must not turn it into a failure (a
    // retry would send the notification again); a snapshot left behind expires with the hash.
    const forget = () =>
      deps.store.done(conversationId, recipientId, window).catch((err: unknown) => {
        deps.logger.warn({ jobId: job.id, err: String(err) }, "could not forget a pushed window's snapshot");
      });
    const snapshot = await deps.store.take(conversationId, recipientId, window);
    if (!snapshot) {
      deps.metrics.notificationsSkipped.inc({ reason: "stale" });
      return "stale";
    }
    const skip = async (reason: Exclude<PushOutcome, "sent">) => {
      deps.metrics.notificationsSkipped.inc({ reason });
      await forget();
      return reason;
    };
    if ((await onlineUsers(deps.redis, deps.keyspace, [recipientId])).has(recipientId)) return skip("online");
    const readSeq = await readSeqOf(deps.database.sql, conversationId, recipientId);
    if (readSeq === undefined) return skip("not_member");
    if (readSeq >= Math.max(...snapshot.seqs)) return skip("read");
    const current = await readWindowMessages(deps.database.sql, { conversationId, seqs: snapshot.seqs, readSeq, previewChars: deps.previewChars });
    // Every message of the window still unread was deleted: nothing is left to tell.
    if (!current) return skip("deleted");

    const { preview, ...latest } = current.latest;
    const notification: Notification = {
      id: job.id ?? `${conversationId}-${window}`,
      recipientId,
      conversationId,
      count: current.count,
      firstSeq: current.firstSeq,
      lastSeq: latest.seq,
      latest: deps.previewChars > 0 ? { ...latest, preview } : latest,
    };
    try {
      await deps.notifier.send(notification);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (err instanceof NotificationRejectedError) {
        deps.metrics.notificationsFailed.inc({ reason: "rejected" });
        deps.logger.warn({ jobId: job.id, notifier: deps.notifier.name, reason, attempt: job.attemptsMade + 1 }, "notification refused by the receiver: given up");
        await forget();
        throw new UnrecoverableError(`refused: ${reason}`);
      }
      deps.metrics.notificationsFailed.inc({ reason: "retry" });
      throw err;
    }
    deps.metrics.notificationsSent.inc();
    await forget();
    return "sent";
  };
}
