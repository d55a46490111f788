import type { Queue } from "bullmq";
import { JobCatalog, webhookEvent } from "@parley/bus";
import type { QueuedEvent } from "@parley/protocol";

/**
 * Adds events to the `events` queue, each as a job named by the event's id (a second add of
 * one event while the first is kept is a no-op). Retries and backoff are the processor's.
 */
export class EventsQueue {
  constructor(private readonly queue: Queue) {}

  add(events: readonly QueuedEvent[]): Promise<unknown> {
    if (events.length === 0) return Promise.resolve();
    return this.queue.addBulk(
      events.map((e) => ({
        name: "events",
        data: e,
        opts: { ...JobCatalog.events.options, jobId: e.id },
      })),
    );
  }

  /**
   * message.created for each message of a persister hand-off (`notify` job data): the ids, no
   * text; the event's id is the message's, so a hand-off run twice queues each event once.
   */
  async messagesCreated(data: unknown): Promise<number> {
    const parsed = JobCatalog.notify.data.safeParse(data);
    if (!parsed.success) return 0;
    await this.add(
      parsed.data.messages.map((m) =>
        webhookEvent("message.created", m.id, { messageId: m.id, conversationId: m.conversationId, seq: m.seq, senderId: m.senderId }, new Date(m.createdAt)),
      ),
    );
    return parsed.data.messages.length;
  }
}

