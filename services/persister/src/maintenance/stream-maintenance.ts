import type { Redis } from "ioredis";
import type { PersistPartitionKeys } from "@parley/bus";
import type { Logger } from "@parley/runtime";
import { Periodic, streamRounds } from "../periodic.js";
import { fieldsOf, readStreamState } from "../stream/stream-state.js";

export interface StreamMaintenanceOptions {
  /** The fail-fast connection: a tick during an outage fails at once and the next one tries again. */
  redis: Redis;
  /** The partition it keeps (one maintenance per partition this pod reads). */
  partition: PersistPartitionKeys;
  /** This pod's consumer name (never removed by its own sweep). */
  consumer: string;
  /** Sets the pace (streamRounds): the idle-consumer sweep runs as often as the reclaimer. */
  claimIdleMs: number;
  /** A consumer with nothing pending and idle this long is removed from the group. */
  consumerIdleMs: number;
  logger: Logger;
}

/**
 * The stream's housekeeping, on a timer; it touches no entry this pod holds (the reclaimer in
 * stream/ does):
 * - trim: `XTRIM MINID ~` up to the oldest pending entry (or the group's last-delivered id),
 *   so acked entries go once a second in whole radix-tree nodes: one command per second for
 *   the whole stream, instead of an XDEL per commit;
 * - consumers with nothing pending, idle for `consumerIdleMs`, are deleted, so the group does
 *   not keep one consumer per pod ever started.
 */
export class StreamMaintenance {
  private readonly periodic: Periodic;
  private readonly sweepEveryMs: number;
  private lastSweep = 0;

  constructor(private readonly opts: StreamMaintenanceOptions) {
    const rounds = streamRounds(opts.claimIdleMs);
    this.sweepEveryMs = rounds.everyMs;
    this.periodic = new Periodic(
      rounds.tickMs,
      () => this.tick(),
      (err) => opts.logger.debug({ err: String(err) }, "persist stream maintenance failed; next tick retries"),
    );
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  private async tick(): Promise<void> {
    await this.trim();
    if (Date.now() - this.lastSweep < this.sweepEveryMs) return;
    this.lastSweep = Date.now();
    await this.forgetIdleConsumers();
  }

  async trim(): Promise<void> {
    const state = await readStreamState(this.opts.redis, this.opts.partition);
    // Everything below the oldest pending entry was acked; with nothing pending, everything
    // up to the last delivered one was (the last one itself is kept: MINID keeps ids ≥ it).
    const minId = state.oldestPendingId ?? state.lastDeliveredId;
    if (minId === "0-0") return;
    await this.opts.redis.xtrim(this.opts.partition.stream, "MINID", "~", minId);
  }

  private async forgetIdleConsumers(): Promise<void> {
    const { redis, partition } = this.opts;
    const { stream, group } = partition;
    const consumers = ((await redis.xinfo("CONSUMERS", stream, group)) as unknown[][]).map(fieldsOf);
    for (const c of consumers) {
      if (c.name === this.opts.consumer || Number(c.pending) > 0 || Number(c.idle) < this.opts.consumerIdleMs) continue;
      await redis.xgroup("DELCONSUMER", stream, group, String(c.name));
      await redis.hdel(partition.uncommitted, String(c.name));
      this.opts.logger.info({ consumer: c.name, partition: partition.index }, "removed an idle persist consumer with nothing pending");
    }
  }
}
