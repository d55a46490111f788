import type { Redis } from "ioredis";
import type { PersistPartitionKeys } from "@parley/bus";
import type { Logger } from "@parley/runtime";
import { Periodic } from "../periodic.js";
import type { StreamReader } from "./stream-reader.js";

export interface UncommittedMarkOptions {
  /** The fail-fast connection: a round during an outage fails at once and the next one tries again. */
  redis: Redis;
  /** The partition whose marks hash this pod writes to (one mark per partition it reads). */
  partition: PersistPartitionKeys;
  consumer: string;
  reader: Pick<StreamReader, "uncommittedFrom">;
  /** How often the mark is published when it moved. */
  everyMs: number;
  logger: Logger;
}

/** Published again even when unchanged this often, so a Redis that restarted empty gets it back. */
const REFRESH_MS = 1_000;

/**
 * Publishes where this pod's uncommitted persist entries start (`persist.uncommitted`, a hash
 * field per consumer), for the gateways' admission signal (libs/bus persist-backlog.ts). A
 * committed entry stays pending until the notify hand-off holding its messages has left (up to
 * 250 ms, docs/decisions/0045-*); without the mark those entries looked like a backlog and the
 * admission budget had to include the hand-off window (docs/decisions/0020-*, addendum).
 *
 * A mark older than a period only errs one way: entries committed since it was published still
 * count, entries read since are above it and count too. One HSET per period while commits flow,
 * none while idle (but the refresh).
 */
export class UncommittedMark {
  private readonly periodic: Periodic;
  private published: string | undefined;
  private publishedAt = 0;

  constructor(private readonly opts: UncommittedMarkOptions) {
    this.periodic = new Periodic(
      opts.everyMs,
      () => this.publish(),
      (err) => opts.logger.debug({ err: String(err) }, "publishing the uncommitted mark failed; the next round retries"),
    );
  }

  start(): void {
    this.periodic.start();
  }

  /** Stops publishing and removes the mark: a stopped pod's pending entries count from their start. */
  async stop(): Promise<void> {
    await this.periodic.stop();
    await this.opts.redis
      .hdel(this.opts.partition.uncommitted, this.opts.consumer)
      .catch((err: unknown) => this.opts.logger.debug({ err: String(err) }, "removing the uncommitted mark failed"));
  }

  async publish(now = Date.now()): Promise<void> {
    const mark = this.opts.reader.uncommittedFrom(now);
    if (mark === undefined) return;
    if (mark === this.published && now - this.publishedAt < REFRESH_MS) return;
    await this.opts.redis.hset(this.opts.partition.uncommitted, this.opts.consumer, mark);
    this.published = mark;
    this.publishedAt = now;
  }
}
