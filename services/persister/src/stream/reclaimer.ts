import type { Redis } from "ioredis";
import type { PersistPartitionKeys } from "@parley/bus";
import type { Logger } from "@parley/runtime";
import type { PersisterMetrics } from "../metrics.js";
import { Periodic, streamRounds } from "../periodic.js";
import type { DeadLetters } from "../publish/dead-letters.js";
import type { HeldEntries } from "./held-entries.js";

export interface ReclaimerOptions {
  /** The fail-fast connection: a round during an outage fails at once and the next one tries again. */
  redis: Redis;
  /** The partition whose pending entries this reclaimer looks after (one per partition). */
  partition: PersistPartitionKeys;
  consumer: string;
  /** The entries this pod holds (the stream reader). */
  held: HeldEntries;
  /** An entry pending this long with a consumer that no longer heartbeats it is claimed. */
  claimIdleMs: number;
  /** A reclaimed entry delivered more often than this is dead-lettered (`redelivered`). */
  maxDeliveries: number;
  deadLetters: Pick<DeadLetters, "redelivered">;
  metrics: PersisterMetrics;
  logger: Logger;
}

const CLAIM_BATCH = 100;

/**
 * Keeps the consumer group's record of who holds which entry true, on a timer:
 * - heartbeat: the entries this pod is working on (e.g. waiting out a Postgres outage) are
 *   re-claimed by it (`XCLAIM … JUSTID`, which resets their idle time without counting a
 *   delivery), so another pod never takes them from a live one;
 * - reclaim: entries idle for `claimIdleMs` belong to a persister that crashed or was scaled
 *   down: `XPENDING IDLE` + `XCLAIM`, then handed to the reader and committed like any other
 *   (idempotent), or dead-lettered when delivered more than `maxDeliveries` times.
 */
export class Reclaimer {
  private readonly periodic: Periodic;
  private readonly everyMs: number;
  private lastRound = 0;

  constructor(private readonly opts: ReclaimerOptions) {
    const rounds = streamRounds(opts.claimIdleMs);
    this.everyMs = rounds.everyMs;
    this.periodic = new Periodic(
      rounds.tickMs,
      () => this.tick(),
      (err) => opts.logger.debug({ err: String(err) }, "heartbeating or reclaiming persist entries failed; the next round retries"),
    );
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  private async tick(): Promise<void> {
    if (Date.now() - this.lastRound < this.everyMs) return;
    this.lastRound = Date.now();
    await this.heartbeat();
    if (this.opts.held.isStopped()) return;
    await this.reclaim();
  }

  private async heartbeat(): Promise<void> {
    const ids = this.opts.held.dueForHeartbeat(Date.now() - this.opts.claimIdleMs / 3);
    const { stream, group } = this.opts.partition;
    for (let i = 0; i < ids.length; i += 1_000) {
      const chunk = ids.slice(i, i + 1_000);
      await this.opts.redis.xclaim(stream, group, this.opts.consumer, 0, ...chunk, "JUSTID");
      this.opts.held.heartbeated(chunk, Date.now());
    }
  }

  private async reclaim(): Promise<void> {
    const { redis, partition, consumer, claimIdleMs } = this.opts;
    const { stream, group } = partition;
    const rows = (await redis.xpending(stream, group, "IDLE", claimIdleMs, "-", "+", CLAIM_BATCH)) as [string, string, number, number][];
    const candidates = rows.filter(([id]) => !this.opts.held.holds(id));
    if (candidates.length === 0) return;
    const deliveries = new Map(candidates.map(([id, , , count]) => [id, count]));
    // The idle bound again in XCLAIM: when two pods reclaim at once, only one gets each entry.
    if (this.opts.held.isStopped()) return;
    const claimed = (await redis.xclaim(stream, group, consumer, claimIdleMs, ...candidates.map(([id]) => id))) as [string, string[] | null][];
    if (claimed.length === 0) return;
    // A stop during the claim: stop() may have stopped waiting for new work; what was claimed
    // stays pending (its idle time reset) and another persister reclaims it.
    if (this.opts.held.isStopped()) return;
    this.opts.metrics.reclaimed.inc(claimed.length);
    this.opts.logger.warn({ entries: claimed.length, partition: partition.index, from: [...new Set(candidates.map(([, c]) => c))] }, "reclaimed persist entries from a persister that stopped answering");
    for (const [id, fields] of claimed) {
      if (!fields) continue;
      // XCLAIM counted one more delivery.
      const count = (deliveries.get(id) ?? 0) + 1;
      if (count > this.opts.maxDeliveries) this.opts.deadLetters.redelivered(partition, id, fields, count);
      else this.opts.held.dispatch(id, fields, true);
    }
  }
}
