import { MAX_PERSIST_PARTITIONS, type Keyspace, type PersistPartitionKeys } from "@parley/bus";
import type { Logger, Redis } from "@parley/runtime";
import { Periodic } from "../periodic.js";
import type { PartitionWorker } from "./partition-worker.js";

export interface PartitionSetDeps {
  keyspace: Keyspace;
  /** PERSIST_PARTITIONS: read from the start. */
  configured: number;
  /** The fail-fast connection, for the look-ups of other partitions. */
  redis: Redis;
  /**
   * Builds (does not start) the worker of a partition; `onVanished` is set for a partition
   * beyond the configured ones (the worker calls it when its stream is deleted).
   */
  open: (partition: PersistPartitionKeys, onVanished: (() => void) | undefined) => PartitionWorker;
  /** How often streams beyond `configured` are looked for. */
  probeEveryMs: number;
  logger: Logger;
}

/**
 * The partitions this persister reads: 0 … PERSIST_PARTITIONS − 1 from the start, and any other
 * partition's stream found in Redis (a look every `probeEveryMs`, up to MAX_PERSIST_PARTITIONS).
 * Those are left by a change of the count: gateways with the old value still append to them
 * during a rollout, and what they appended before must still be committed. Every persister
 * reads every partition it knows through the partition's consumer group, so they share each
 * partition's entries, and a dead persister's pending entries are reclaimed by the others
 * (stream/reclaimer.ts), whatever the partition.
 */
export class PartitionSet {
  private readonly workers = new Map<number, PartitionWorker>();
  private readonly probe: Periodic;
  private stopped = false;

  constructor(private readonly deps: PartitionSetDeps) {
    this.probe = new Periodic(
      deps.probeEveryMs,
      () => this.lookForOthers(),
      (err) => deps.logger.debug({ err: String(err) }, "looking for other persist partitions failed; the next round retries"),
    );
  }

  start(): void {
    const configured = Array.from({ length: this.deps.configured }, (_, k) => this.deps.keyspace.persistPartition(k));
    this.deps.logger.info({ partitions: configured.length, streams: configured.map((p) => p.stream) }, "reading the persist partitions (PERSIST_PARTITIONS)");
    for (const p of configured) this.add(p);
    this.probe.start();
  }

  /** Every worker running, by partition index. */
  all(): PartitionWorker[] {
    return [...this.workers.values()];
  }

  /**
   * The partitions read, for the stream metrics: the configured ones from the first scrape
   * (before `start()` too, so a persister not yet reading still shows the backlog), and every
   * partition found since.
   */
  partitions(): PersistPartitionKeys[] {
    const keys = new Map<number, PersistPartitionKeys>();
    for (let k = 0; k < this.deps.configured; k++) keys.set(k, this.deps.keyspace.persistPartition(k));
    for (const w of this.all()) keys.set(w.deps.partition.index, w.deps.partition);
    return [...keys.values()].sort((a, b) => a.index - b.index);
  }

  /** Looks for other partitions' streams now (also on its timer). */
  async lookForOthers(): Promise<void> {
    const { keyspace, configured } = this.deps;
    const candidates: PersistPartitionKeys[] = [];
    for (let k = configured; k < MAX_PERSIST_PARTITIONS; k++) if (!this.workers.has(k)) candidates.push(keyspace.persistPartition(k));
    // One EXISTS per key: on a Redis Cluster each goes to its own slot's master.
    const found = await Promise.all(candidates.map(async (p) => ((await this.deps.redis.exists(p.stream)) === 1 ? p : undefined)));
    for (const p of found) {
      if (!p || this.stopped || this.workers.has(p.index)) continue;
      this.deps.logger.info(
        { partition: p.index, stream: p.stream, configured },
        "found a persist partition beyond PERSIST_PARTITIONS (left by a change of the count, or a gateway with another value): reading it too",
      );
      this.add(p);
    }
  }

  async stopTaking(): Promise<void> {
    this.stopped = true;
    await this.probe.stop();
    await Promise.all(this.all().map((w) => w.stopTaking()));
  }

  async stopMarks(): Promise<void> {
    await Promise.all(this.all().map((w) => w.stopMark()));
  }

  private add(partition: PersistPartitionKeys): void {
    const found = partition.index >= this.deps.configured;
    const worker = this.deps.open(
      partition,
      found
        ? () => {
            // Its stream was deleted (retired by an operator once drained): the rest of the worker stops too.
            if (this.workers.get(partition.index) !== worker) return;
            this.workers.delete(partition.index);
            void worker.stopTaking().then(() => worker.stopMark());
          }
        : undefined,
    );
    this.workers.set(partition.index, worker);
    worker.start();
  }
}
