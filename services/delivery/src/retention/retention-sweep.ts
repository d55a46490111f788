import { oldestKept, retentionCandidates, tombstoneExpiredBatch, type Database } from "@parley/db";
import type { Logger } from "@parley/runtime";
import type { DeliveryConfig } from "../env.js";
import type { AnnounceTombstones } from "../tombstones/announce-tombstones.js";
import type { RetentionMetrics } from "./retention-metrics.js";

export interface RetentionSweepDeps {
  database: Database;
  metrics: RetentionMetrics;
  logger: Logger;
  config: DeliveryConfig["retention"];
  /** Progress for the job (`{ conversations, tombstoned }`). */
  progress?: (p: { conversations: number; tombstoned: number }) => Promise<unknown>;
  /** Tells members' clients of a batch's new tombstones (`message:updated`), after its commit. */
  announce?: AnnounceTombstones;
}

/**
 * One retention sweep: every conversation that may hold expired messages, in id order, each
 * tombstoned batch by batch from where the last sweep left it, until it holds none or the
 * sweep's budget of batches is spent. Every batch is its own short transaction, so a sweep
 * stopped anywhere (a deploy, a crash) leaves consistent rows and the next one goes on.
 */
export async function runRetentionSweep(deps: RetentionSweepDeps): Promise<{ conversations: number; tombstoned: number; caughtUp: boolean }> {
  const { sql } = deps.database;
  const { config, metrics } = deps;
  let batches = 0;
  let tombstoned = 0;
  let conversations = 0;
  let lagSeconds = 0;
  let after: string | undefined;
  for (;;) {
    const page = await retentionCandidates(sql, config.defaultDays, after, 500);
    if (page.length === 0) break;
    for (const c of page) {
      after = c.id;
      conversations++;
      let through = c.retainedThroughSeq;
      for (;;) {
        if (batches >= config.maxBatches) {
          // Out of budget: how late the oldest message left is, for parley_retention_lag_seconds.
          const oldest = await oldestKept(sql, c.id, through);
          if (oldest) lagSeconds = Math.max(lagSeconds, (Date.now() - c.days * 86_400_000 - oldest.getTime()) / 1000);
          break;
        }
        const r = await tombstoneExpiredBatch(sql, { id: c.id, days: c.days, retainedThroughSeq: through }, config.batchSize);
        batches++;
        metrics.batches.inc();
        metrics.tombstoned.inc(r.tombstoned);
        tombstoned += r.tombstoned;
        through = r.retainedThroughSeq;
        if (r.messages.length > 0) await deps.announce?.(r.messages);
        if (!r.more) break;
      }
      if (batches >= config.maxBatches) break;
    }
    await deps.progress?.({ conversations, tombstoned });
    if (batches >= config.maxBatches) break;
  }
  const caughtUp = batches < config.maxBatches;
  metrics.lag.set(caughtUp ? 0 : Math.max(0, lagSeconds));
  metrics.lastSweep.set(Date.now() / 1000);
  deps.logger.info({ conversations, tombstoned, batches, caughtUp }, "retention sweep done");
  return { conversations, tombstoned, caughtUp };
}
