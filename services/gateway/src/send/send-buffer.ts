import type { PersistItem } from "@parley/db";

/** Appends one window of sends to the persist stream (libs/bus `appendPersistEntry`). */
export type AppendEntry = (replyTo: string, items: PersistItem[]) => Promise<unknown>;

export interface SendBufferOptions {
  /** Entries leave at most this often; a send arriving after a quiet spell leaves at once. */
  windowMs: number;
  /** An entry never carries more messages than this; a full buffer leaves at once. */
  maxItems: number;
  /** Entries on their way to Redis at once; later sends wait for one to land. */
  maxInFlight: number;
}

/**
 * Turns sends into persist stream entries. An entry is one XADD whatever its size, and the
 * persister's per-entry work (a read, a parse, an XACK) is shared by what it holds, so under
 * load many sends share an entry: one leaves at most every `windowMs`, and while one is on its
 * way the next one fills up. After a quiet spell a send leaves on the next event-loop turn, so
 * at low load nothing waits. Why: docs/decisions/0010-send-batch-window.md.
 */
export class SendBuffer {
  private items: PersistItem[] = [];
  private scheduled = false;
  private inFlight = 0;
  private lastFlush = 0;

  constructor(
    private readonly append: AppendEntry,
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
    // Not full: wait for the entry in flight to land (its completion flushes again).
    if (!full && this.inFlight >= this.opts.maxInFlight) return;
    const items = this.items;
    this.items = [];
    this.inFlight++;
    this.lastFlush = performance.now();
    this.append(this.replyTo, items)
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
