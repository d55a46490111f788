import type { ChainableCommander, Redis } from "ioredis";
import type { PersistPartitionKeys } from "@parley/bus";
import { pipelineAcrossSlots, type Logger } from "@parley/runtime";

/**
 * Everything the persister writes to Redis after commits, sent as ONE pipeline per event-loop
 * turn: the fan-out and acks of the turn's commits (after-commit.ts), dead letters
 * (dead-letters.ts), and last one XACK for every entry finished in the turn. The XACK goes after the acks, so an entry is
 * never acknowledged to the stream before its senders' answers are on their way; a process
 * that dies in between leaves the entry pending, and its re-read commits nothing new (the
 * insert is idempotent) and answers the same outcomes again.
 *
 * The pipeline leaves on `setImmediate`: a commit's after-commit hook and the entries it
 * completes run in the same turn (their promises settle in microtasks), so they share it.
 */
export class TurnPipeline {
  private current: ChainableCommander | undefined;
  private startedAt = 0;
  private publishes = false;
  /** Entries finished this turn, by partition (one XACK per partition's stream). */
  private acked = new Map<PersistPartitionKeys, string[]>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    /** Seconds from the turn's first command (a commit's fan-out) to Redis' answer. */
    private readonly onPublished: (seconds: number) => void,
  ) {}

  /** The pipeline of this turn; commands added to it leave at the end of the turn. */
  get(): ChainableCommander {
    // A turn that publishes (not only XACKs) is what parley_persist_fanout_seconds times.
    this.publishes = true;
    return this.pipeline();
  }

  private pipeline(): ChainableCommander {
    if (!this.current) {
      // Rooms' and pods' channels sit in many slots: on a cluster the commands go one by one, in order.
      this.current = pipelineAcrossSlots(this.redis);
      this.startedAt = performance.now();
      setImmediate(() => this.flush());
    }
    return this.current;
  }

  /** Acknowledges an entry to its partition's consumer group (after everything added before it). */
  ack(id: string, partition: PersistPartitionKeys): void {
    this.pipeline();
    const ids = this.acked.get(partition);
    if (ids) ids.push(id);
    else this.acked.set(partition, [id]);
  }

  private flush(): void {
    const pipeline = this.current;
    if (!pipeline) return;
    this.current = undefined;
    const started = this.startedAt;
    const timed = this.publishes;
    this.publishes = false;
    for (const [partition, ids] of this.acked) pipeline.xack(partition.stream, partition.group, ...ids);
    this.acked.clear();
    const sent = pipeline.exec().then(
      (results) => {
        if (timed) this.onPublished((performance.now() - started) / 1000);
        const failed = results?.find(([err]) => err);
        if (failed) this.logger.warn({ err: String(failed[0]) }, "a fan-out or ack command failed after commit");
      },
      // The rows are committed: a lost fan-out is recovered by clients' sync, a lost ack by
      // their retry, a lost XACK by a re-read of the entry (idempotent).
      (err: unknown) => this.logger.warn({ err: String(err) }, "fan-out after commit failed"),
    );
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }

  /** Sends what this turn holds and waits for every pipeline in flight. */
  async idle(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
  }
}
