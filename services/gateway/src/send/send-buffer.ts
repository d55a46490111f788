import type { Queue } from "bullmq";
import { JobCatalog } from "@parley/bus";
import type { PersistItem } from "@parley/db";

/**
 * Collects the sends of one event-loop turn into one persist job. At low load a job holds
 * one message and leaves at once; under load one Redis round trip carries many messages,
 * which is what lets the queue keep up with Postgres' multi-row commits.
 */
export class SendBuffer {
  private items: PersistItem[] = [];
  private scheduled = false;

  constructor(
    private readonly queue: Queue,
    private readonly replyTo: string,
    private readonly onEnqueueFailed: (items: PersistItem[], err: unknown) => void,
    private readonly onEnqueued: (items: number) => void = () => {},
    private readonly maxItems = 500,
  ) {}

  push(item: PersistItem): void {
    this.items.push(item);
    if (this.items.length >= this.maxItems) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.queue.add("persist", { replyTo: this.replyTo, items }, JobCatalog.persist.options).then(
      () => this.onEnqueued(items.length),
      (err: unknown) => this.onEnqueueFailed(items, err),
    );
  }
}
