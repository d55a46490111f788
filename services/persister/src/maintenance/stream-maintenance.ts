import type { Redis } from "ioredis";
import type { Keyspace } from "@parley/bus";
import type { Logger } from "@parley/runtime";
import type { PersisterMetrics } from "../metrics.js";
import { fieldsOf, readStreamState } from "../stream/stream-state.js";
import type { DeadLetters } from "../publish/dead-letters.js";
import type { HeldEntries } from "../stream/held-entries.js";

export interface StreamMaintenanceOptions {
  /** The fail-fast connection: a tick during an outage fails at once and the next one tries again. */
  redis: Redis;
  keyspace: Keyspace;
  consumer: string;
  /** The entries this pod holds (the stream reader), through the narrow face maintenance may use. */
  held: HeldEntries;
  /** An entry pending this long with a consumer that no longer heartbeats it is claimed. */
  claimIdleMs: number;
  /** A reclaimed entry delivered more often than this is dead-lettered (`redelivered`). */
  maxDeliveries: number;
  /** A consumer with nothing pending and idle this long is removed from the group. */
  consumerIdleMs: number;
  deadLetters: Pick<DeadLetters, "redelivered">;
  metrics: PersisterMetrics;
  logger: Logger;
}

const CLAIM_BATCH = 100;

/**
 * The stream's housekeeping, on a timer:
 * - trim: `XTRIM MINID ~` up to the oldest pending entry (or the group's last-delivered id),
 *   so acked entries go once a second in whole radix-tree nodes: one command per second for
 *   the whole stream, instead of an XDEL per commit;
 * - heartbeat: the entries this pod is working on (e.g. waiting out a Postgres outage) are
 *   re-claimed by it (`XCLAIM … JUSTID`, which resets their idle time without counting a
 *   delivery), so another pod never takes them from a live one;
 * - reclaim: entries idle for `claimIdleMs` belong to a persister that crashed or was scaled
 *   down: `XPENDING IDLE` + `XCLAIM`, then committed like any other (idempotent), or
 *   dead-lettered when delivered more than `maxDeliveries` times;
 * - consumers with nothing pending, idle for `consumerIdleMs`, are deleted, so the group does
 *   not keep one consumer per pod ever started.
 */
export class StreamMaintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastReclaim = 0;
  private readonly reclaimEveryMs: number;
  private readonly tickMs: number;

  constructor(private readonly opts: StreamMaintenanceOptions) {
    this.reclaimEveryMs = Math.min(5_000, Math.max(100, Math.floor(opts.claimIdleMs / 3)));
    this.tickMs = Math.min(1_000, this.reclaimEveryMs);
  }

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch((err: unknown) => this.opts.logger.debug({ err: String(err) }, "persist stream maintenance failed; next tick retries"))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.tickMs);
    this.timer.unref();
  }

  /** One round (exposed for tests). */
  async tick(): Promise<void> {
    await this.trim();
    if (Date.now() - this.lastReclaim < this.reclaimEveryMs) return;
    this.lastReclaim = Date.now();
    await this.heartbeat();
    if (this.opts.held.isStopped()) return;
    await this.reclaim();
    await this.forgetIdleConsumers();
  }

  async trim(): Promise<void> {
    const state = await readStreamState(this.opts.redis, this.opts.keyspace);
    // Everything below the oldest pending entry was acked; with nothing pending, everything
    // up to the last delivered one was (the last one itself is kept: MINID keeps ids ≥ it).
    const minId = state.oldestPendingId ?? state.lastDeliveredId;
    if (minId === "0-0") return;
    await this.opts.redis.xtrim(this.opts.keyspace.persist.stream, "MINID", "~", minId);
  }

  private async heartbeat(): Promise<void> {
    const ids = this.opts.held.dueForHeartbeat(Date.now() - this.opts.claimIdleMs / 3);
    const { stream, group } = this.opts.keyspace.persist;
    for (let i = 0; i < ids.length; i += 1_000) {
      const chunk = ids.slice(i, i + 1_000);
      await this.opts.redis.xclaim(stream, group, this.opts.consumer, 0, ...chunk, "JUSTID");
      this.opts.held.heartbeated(chunk, Date.now());
    }
  }

  private async reclaim(): Promise<void> {
    const { redis, keyspace, consumer, claimIdleMs } = this.opts;
    const { stream, group } = keyspace.persist;
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
    this.opts.logger.warn({ entries: claimed.length, from: [...new Set(candidates.map(([, c]) => c))] }, "reclaimed persist entries from a persister that stopped answering");
    for (const [id, fields] of claimed) {
      if (!fields) continue;
      // XCLAIM counted one more delivery.
      const count = (deliveries.get(id) ?? 0) + 1;
      if (count > this.opts.maxDeliveries) this.opts.deadLetters.redelivered(id, fields, count);
      else this.opts.held.dispatch(id, fields);
    }
  }

  private async forgetIdleConsumers(): Promise<void> {
    const { redis, keyspace } = this.opts;
    const { stream, group } = keyspace.persist;
    const consumers = ((await redis.xinfo("CONSUMERS", stream, group)) as unknown[][]).map(fieldsOf);
    for (const c of consumers) {
      if (c.name === this.opts.consumer || Number(c.pending) > 0 || Number(c.idle) < this.opts.consumerIdleMs) continue;
      await redis.xgroup("DELCONSUMER", stream, group, String(c.name));
      this.opts.logger.info({ consumer: c.name }, "removed an idle persist consumer with nothing pending");
    }
  }
}
