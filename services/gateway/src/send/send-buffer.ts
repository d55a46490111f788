import type { Queue } from "bullmq";
import { JobCatalog } from "@parley/bus";
import type { PersistItem } from "@parley/db";

/**
 * Turns sends into persist jobs, batching by itself under load: while one job is on its way
 * to Redis, the sends that arrive wait and leave together as the next job as soon as it
 * lands (Nagle-style, with no timer). At low load a job holds one message and leaves on the
 * next event-loop turn; under load one Redis round trip carries many messages, which is what
 * lets the queue keep up with Postgres' multi-row commits at a fraction of BullMQ's per-job
 * cost.
 */
export class SendBuffer {
  private items: PersistItem[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly queue: Queue,
    private readonly replyTo: string,
    private readonly onEnqueueFailed: (items: PersistItem[], err: unknown) => void,
    private readonly onEnqueued: (items: number) => void = () => {},
    private readonly maxItems = 500,
    private readonly maxInFlight = 1,
  ) {}

  push(item: PersistItem): void {
    this.items.push(item);
    if (this.items.length >= this.maxItems) this.flush(true);
    else if (!this.scheduled && this.inFlight < this.maxInFlight) {
      this.scheduled = true;
      setImmediate(() => this.flush(false));
    }
  }

  private flush(full: boolean): void {
    this.scheduled = false;
    if (this.items.length === 0) return;
    // A full buffer leaves at once; otherwise it waits for the job in flight to land.
    if (!full && this.inFlight >= this.maxInFlight) return;
    const items = this.items;
    this.items = [];
    this.inFlight++;
    this.queue
      .add("persist", { replyTo: this.replyTo, items }, JobCatalog.persist.options)
      .then(
        () => this.onEnqueued(items.length),
        (err: unknown) => this.onEnqueueFailed(items, err),
      )
      .finally(() => {
        this.inFlight--;
        if (this.items.length > 0) this.flush(false);
      });
  }
}
