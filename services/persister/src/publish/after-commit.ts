import { streamIdMs, type PersistPartitionKeys } from "@parley/bus";
import type { PersistItem, PersistOutcome } from "@parley/db";
import type { PersisterMetrics } from "../metrics.js";
import type { FanOut } from "./fan-out.js";
import type { HandOff } from "./hand-off.js";
import type { TurnPipeline } from "./turn-pipeline.js";

export interface AfterCommitDeps {
  pipeline: Pick<TurnPipeline, "get" | "ack" | "idle">;
  fanOut: Pick<FanOut, "add" | "announce">;
  handOff: Pick<HandOff, "committed" | "add" | "settled" | "close">;
  metrics: PersisterMetrics;
}

/**
 * What happens once Postgres has answered, in one place: the commit's metrics, its fan-out
 * (message:new to the conversations' rooms) and acks (to the pods whose senders wait), the
 * hand-off to notifications, and the XACK of each entry once every message of it is answered.
 * The fan-out, acks and XACKs share the turn's pipeline (turn-pipeline.ts), which sends the
 * XACKs last: an entry never leaves the consumer group before its senders' answers are on
 * their way, nor before its messages' hand-off has left: a persister that dies before either
 * leaves the entry pending, and its redelivery announces them again (announceAgain).
 */
export class AfterCommit {
  /** XACKs waiting for their hand-off window to leave. */
  private readonly waitingAcks = new Set<Promise<void>>();

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

  /**
   * The messages an entry found already stored, when an earlier try of the entry may have
   * stored them and died before announcing them (entry-handler.ts): `message:new` to their
   * rooms and the hand-off to notifications again. Their acks went with the commit's.
   */
  announceAgain(outcomes: readonly PersistOutcome[]): void {
    const messages = outcomes.flatMap((o) => (o.ok && o.duplicate ? [o.message] : []));
    if (messages.length === 0) return;
    this.deps.fanOut.announce(this.deps.pipeline.get(), messages);
    this.deps.handOff.add(messages);
    this.deps.metrics.announcedAgain.inc(messages.length);
  }

  /**
   * Every message of the entry is committed and answered: its XACK, after those answers and
   * once the hand-off holding its messages has left (at most the hand-off window later).
   */
  entryCommitted(entryId: string, partition: PersistPartitionKeys): void {
    this.deps.metrics.lagSeconds.observe(Math.max(0, Date.now() - streamIdMs(entryId)) / 1000);
    const acked = this.deps.handOff.settled().then(() => this.deps.pipeline.ack(entryId, partition));
    this.waitingAcks.add(acked);
    void acked.finally(() => this.waitingAcks.delete(acked));
  }

  /** The entry's data is gone (trimmed while pending): nothing is left to store, only its XACK. */
  entryGone(entryId: string, partition: PersistPartitionKeys): void {
    this.deps.pipeline.ack(entryId, partition);
  }

  /** Sends what the turn holds, hands off the open window, then the XACKs that waited for it. */
  async drain(): Promise<void> {
    await this.deps.pipeline.idle();
    await this.deps.handOff.close();
    await Promise.allSettled([...this.waitingAcks]);
    await this.deps.pipeline.idle();
  }
}
