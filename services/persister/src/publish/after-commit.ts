import { streamIdMs } from "@parley/bus";
import type { PersistItem, PersistOutcome } from "@parley/db";
import type { PersisterMetrics } from "../metrics.js";
import type { FanOut } from "./fan-out.js";
import type { HandOff } from "./hand-off.js";
import type { TurnPipeline } from "./turn-pipeline.js";

export interface AfterCommitDeps {
  pipeline: Pick<TurnPipeline, "get" | "ack" | "idle">;
  fanOut: Pick<FanOut, "add">;
  handOff: Pick<HandOff, "committed" | "close">;
  metrics: PersisterMetrics;
}

/**
 * What happens once Postgres has answered, in one place: the commit's metrics, its fan-out
 * (message:new to the conversations' rooms) and acks (to the pods whose senders wait), the
 * hand-off to notifications, and the XACK of each entry once every message of it is answered.
 * The fan-out, acks and XACKs share the turn's pipeline (turn-pipeline.ts), which sends the
 * XACKs last: an entry never leaves the consumer group before its senders' answers are on
 * their way.
 */
export class AfterCommit {
  constructor(private readonly deps: AfterCommitDeps) {}

  /**
   * The commit lanes' hook (commit-lane.ts `onCommitted`): runs right after each transaction,
   * before the lane's next one starts, so a conversation's messages leave in seq order.
   */
  committed(items: readonly PersistItem[], replyTo: readonly string[], outcomes: readonly PersistOutcome[], durationMs: number): void {
    const { metrics } = this.deps;
    metrics.batchSize.observe(items.length);
    metrics.commitSeconds.observe(durationMs / 1000);
    for (const o of outcomes) {
      const outcome = o.ok ? (o.duplicate ? "duplicate" : "stored") : o.error.code === "CONFLICT" ? "conflict" : "refused";
      metrics.messages.inc({ outcome });
    }
    this.deps.fanOut.add(this.deps.pipeline.get(), items, replyTo, outcomes);
    this.deps.handOff.committed(outcomes);
  }

  /** Every message of the entry is committed and answered: its XACK, after those answers. */
  entryCommitted(entryId: string): void {
    this.deps.metrics.lagSeconds.observe(Math.max(0, Date.now() - streamIdMs(entryId)) / 1000);
    this.deps.pipeline.ack(entryId);
  }

  /** The entry's data is gone (trimmed while pending): nothing is left to store, only its XACK. */
  entryGone(entryId: string): void {
    this.deps.pipeline.ack(entryId);
  }

  /** Sends what the turn holds, then hands off the open window; resolves when both are done. */
  async drain(): Promise<void> {
    await this.deps.pipeline.idle();
    await this.deps.handOff.close();
  }
}
