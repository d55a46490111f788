import type { DeliveredWatermark, MovedWatermark } from "@parley/db";
import { coalesceWatermarks } from "./coalesce.js";

export interface ReceiptBatcherOptions {
  /** Applies coalesced watermarks in one statement; answers those that moved. */
  apply(watermarks: DeliveredWatermark[]): Promise<MovedWatermark[]>;
  /** Runs after each statement, before the next: emits the receipts of what moved. */
  onApplied(moved: MovedWatermark[], applied: number): void;
  /** Watermarks in one statement at most (before coalescing). */
  maxBatch: number;
}

interface Pending {
  watermarks: DeliveredWatermark[];
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * One statement at a time, merging every job that arrived while the previous one ran (as the
 * persister's commit lane does): under load many jobs share an UPDATE, and a (conversation,
 * user) acked by many devices and many messages becomes one row of it.
 */
export class ReceiptBatcher {
  private queue: Pending[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly opts: ReceiptBatcherOptions) {}

  submit(watermarks: DeliveredWatermark[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ watermarks, resolve, reject });
      this.running ??= this.loop().finally(() => {
        this.running = undefined;
      });
    });
  }

  /** Resolves when nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.take();
      try {
        const merged = coalesceWatermarks(batch.flatMap((p) => p.watermarks));
        const moved = await this.opts.apply(merged);
        this.opts.onApplied(moved, merged.length);
        for (const p of batch) p.resolve();
      } catch (err) {
        // Each job fails and BullMQ retries it; applying a watermark twice is harmless.
        for (const p of batch) p.reject(err);
      }
    }
  }

  private take(): Pending[] {
    const batch: Pending[] = [];
    let size = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && size + next.watermarks.length > this.opts.maxBatch) break;
      batch.push(this.queue.shift()!);
      size += next.watermarks.length;
    }
    return batch;
  }
}
