import { setTimeout as sleep } from "node:timers/promises";
import { isTransientDbError, type PersistItem, type PersistOutcome } from "@parley/db";
import { PoisonItemsError, refusedOutcome } from "./poison-items-error.js";

/** One entry's share of a transaction. */
interface Pending {
  items: PersistItem[];
  /** Where the items' acks go (the sending gateway pod). */
  replyTo: string;
  resolve(outcomes: PersistOutcome[]): void;
  reject(err: unknown): void;
}

export interface CommitLaneOptions {
  /** Commits a batch in one transaction; answers each item in order. */
  commit(items: PersistItem[]): Promise<PersistOutcome[]>;
  /**
   * Runs right after each commit, before the lane's next transaction starts: the fan-out is
   * issued here (publish/after-commit.ts) so that messages of one conversation leave this
   * process in seq order.
   */
  onCommitted(items: PersistItem[], replyTo: string[], outcomes: PersistOutcome[], durationMs: number): void;
  maxBatch: number;
  /**
   * The commit clock: a transaction starts at least this long after the previous one started.
   * Under load, sends arriving in between join the next transaction instead of each paying a
   * commit of their own; after a quiet spell a send is committed at once (0: no clock; why:
   * docs/decisions/0003-commit-clock.md).
   */
  minIntervalMs: number;
}

/**
 * One transaction at a time, merging everything that arrived while the previous one ran:
 * at low load a message is committed at once, under load many entries share one commit
 * (Postgres's cost is mostly per commit: docs/decisions/0002-commit-function-looks-up-by-key.md).
 *
 * When a merged transaction fails for a reason that is not an outage (a poison message), each
 * entry is retried alone, and an entry that still fails is split in halves until the refused
 * messages are found: they alone are answered INTERNAL (PoisonItemsError), everything else
 * is committed.
 */
export class CommitLane {
  private queue: Pending[] = [];
  private running: Promise<void> | undefined;
  private lastStart = -Infinity;

  constructor(private readonly opts: CommitLaneOptions) {}

  submit(items: PersistItem[], replyTo: string): Promise<PersistOutcome[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, replyTo, resolve, reject });
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
      const wait = this.lastStart + this.opts.minIntervalMs - performance.now();
      if (wait >= 1) await sleep(wait);
      this.lastStart = performance.now();
      await this.commitMerged(this.take());
    }
  }

  private take(): Pending[] {
    const batch: Pending[] = [];
    let size = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && size + next.items.length > this.opts.maxBatch) break;
      batch.push(this.queue.shift()!);
      size += next.items.length;
    }
    return batch;
  }

  private async commitMerged(batch: Pending[]): Promise<void> {
    const items = batch.flatMap((p) => p.items);
    const started = performance.now();
    try {
      const outcomes = await this.opts.commit(items);
      const replyTo = batch.flatMap((p) => p.items.map(() => p.replyTo));
      this.opts.onCommitted(items, replyTo, outcomes, performance.now() - started);
      let offset = 0;
      for (const p of batch) {
        p.resolve(outcomes.slice(offset, offset + p.items.length));
        offset += p.items.length;
      }
    } catch (err) {
      if (isTransientDbError(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      if (batch.length > 1) {
        for (const p of batch) await this.commitMerged([p]);
        return;
      }
      const entry = batch[0]!;
      try {
        const { outcomes, failed, reason } = await this.isolate(entry.items, entry.replyTo, 0);
        if (failed.length === 0) entry.resolve(outcomes);
        else entry.reject(new PoisonItemsError(outcomes, failed, reason ?? String(err)));
      } catch (transient) {
        entry.reject(transient);
      }
    }
  }

  /** Commits `items` in halves until the refused ones are alone; throws on an outage. */
  private async isolate(
    items: PersistItem[],
    replyTo: string,
    offset: number,
  ): Promise<{ outcomes: PersistOutcome[]; failed: number[]; reason?: string }> {
    const started = performance.now();
    try {
      const outcomes = await this.opts.commit(items);
      this.opts.onCommitted(items, items.map(() => replyTo), outcomes, performance.now() - started);
      return { outcomes, failed: [] };
    } catch (err) {
      if (isTransientDbError(err)) throw err;
      if (items.length === 1) return { outcomes: [refusedOutcome()], failed: [offset], reason: err instanceof Error ? err.message : String(err) };
      const mid = items.length >> 1;
      const left = await this.isolate(items.slice(0, mid), replyTo, offset);
      const right = await this.isolate(items.slice(mid), replyTo, offset + mid);
      return { outcomes: [...left.outcomes, ...right.outcomes], failed: [...left.failed, ...right.failed], reason: left.reason ?? right.reason };
    }
  }
}
