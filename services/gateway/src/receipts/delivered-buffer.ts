import type { Queue } from "bullmq";
import { JobCatalog, type DeliveredReceipt } from "@parley/bus";

export interface DeliveredBufferOptions {
  /** Jobs leave at most this often; a watermark arriving after a quiet spell leaves at once. */
  windowMs: number;
  /** Watermarks in one job at most; a full buffer leaves at once. */
  maxItems: number;
}

interface Waiting {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Turns `message:delivered` watermarks into `receipts` jobs. Every device acks every message,
 * so these are the most frequent events of all: watermarks of one window share a job, and
 * those of one (conversation, user) within it become one (the highest seq covers the others).
 * Each caller is answered once its watermark is in Redis, or with the add's error.
 */
export class DeliveredBuffer {
  private pending = new Map<string, DeliveredReceipt>();
  private waiting: Waiting[] = [];
  private scheduled = false;
  private lastFlush = 0;

  constructor(
    private readonly queue: Queue,
    private readonly opts: DeliveredBufferOptions = { windowMs: 5, maxItems: 1_000 },
    private readonly onEnqueued: (watermarks: number) => void = () => {},
  ) {}

  push(receipt: DeliveredReceipt): Promise<void> {
    const key = `${receipt.conversationId}/${receipt.userId}`;
    const seen = this.pending.get(key);
    if (!seen || receipt.seq > seen.seq) this.pending.set(key, receipt);
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (this.pending.size >= this.opts.maxItems) this.flush();
    else this.schedule();
    return done;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.lastFlush + this.opts.windowMs - performance.now();
    const run = () => {
      this.scheduled = false;
      this.flush();
    };
    if (wait <= 0) setImmediate(run);
    else setTimeout(run, wait);
  }

  private flush(): void {
    if (this.pending.size === 0) return;
    const receipts = [...this.pending.values()];
    const waiting = this.waiting;
    this.pending = new Map();
    this.waiting = [];
    this.lastFlush = performance.now();
    this.queue.add("receipts", { receipts }, JobCatalog.receipts.options).then(
      () => {
        this.onEnqueued(receipts.length);
        for (const w of waiting) w.resolve();
      },
      (err: unknown) => {
        for (const w of waiting) w.reject(err);
      },
    );
  }
}
