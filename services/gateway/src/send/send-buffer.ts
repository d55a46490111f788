import type { Queue } from "bullmq";
import { JobCatalog } from "@parley/bus";
import type { PersistItem } from "@parley/db";

export interface SendBufferOptions {
  /** Jobs leave at most this often; a send arriving after a quiet spell leaves at once. */
  windowMs: number;
  /** A job never carries more messages than this; a full buffer leaves at once. */
  maxItems: number;
  /** Jobs on their way to Redis at once; later sends wait for one to land. */
  maxInFlight: number;
}

/**
 * Turns sends into persist jobs. BullMQ costs tens of Redis commands per job whatever its
 * size, so under load many sends share a job: a job leaves at most every `windowMs`, and
 * while one is on its way the next one fills up. After a quiet spell a send leaves on the next
 * event-loop turn, so at low load nothing waits.
 */
export class SendBuffer {
  private items: PersistItem[] = [];
  private scheduled = false;
  private inFlight = 0;
  private lastFlush = 0;

  constructor(
    private readonly queue: Queue,
    private readonly replyTo: string,
    private readonly onEnqueueFailed: (items: PersistItem[], err: unknown) => void,
    private readonly onEnqueued: (items: number) => void = () => {},
    private readonly opts: SendBufferOptions = { windowMs: 2, maxItems: 500, maxInFlight: 1 },
  ) {}

  push(item: PersistItem): void {
    this.items.push(item);
    if (this.items.length >= this.opts.maxItems) this.flush(true);
    else this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.opts.maxInFlight) return;
    this.scheduled = true;
    const wait = this.lastFlush + this.opts.windowMs - performance.now();
    if (wait <= 0) setImmediate(() => this.flush(false));
    else setTimeout(() => this.flush(false), wait);
  }

  private flush(full: boolean): void {
    if (!full) this.scheduled = false;
    if (this.items.length === 0) return;
    // Not full: wait for the job in flight to land (its completion flushes again).
    if (!full && this.inFlight >= this.opts.maxInFlight) return;
    const items = this.items;
    this.items = [];
    this.inFlight++;
    this.lastFlush = performance.now();
    this.queue
      .add("persist", { replyTo: this.replyTo, items }, JobCatalog.persist.options)
      .then(
        () => this.onEnqueued(items.length),
        (err: unknown) => this.onEnqueueFailed(items, err),
      )
      .finally(() => {
        this.inFlight--;
        if (this.items.length > 0) this.schedule();
      });
  }
}
