import type { PersistItem, PersistOutcome } from "@parley/db";
import { CommitLane, type CommitLaneOptions } from "./commit-lane.js";
import { PoisonItemsError } from "./poison-items-error.js";

export interface CommitBatcherOptions extends CommitLaneOptions {
  /** Transactions that may run at once. */
  lanes: number;
}

/**
 * Spreads commits over `lanes` lanes by conversation: a conversation always goes through the
 * same lane, which runs one transaction at a time, so its fan-out leaves in seq order; the
 * lanes commit side by side, so one transaction's round trips and WAL flush do not hold up
 * every other conversation (and Postgres can flush several commits at once).
 *
 * An entry whose messages span lanes is answered when every lane has answered its share; when
 * a share holds refused messages, the other shares still commit and only those are refused.
 */
export class CommitBatcher {
  private readonly lanes: CommitLane[];

  constructor(opts: CommitBatcherOptions) {
    this.lanes = Array.from({ length: Math.max(1, opts.lanes) }, () => new CommitLane(opts));
  }

  /** `onHeld` is called (once per lane at most) if some of the items wait for a held conversation row. */
  async submit(items: PersistItem[], replyTo: string, onHeld?: () => void): Promise<PersistOutcome[]> {
    if (this.lanes.length === 1) return this.lanes[0]!.submit(items, replyTo, onHeld);
    const shares = new Map<number, number[]>();
    items.forEach((item, index) => {
      const lane = laneOf(item.conversationId, this.lanes.length);
      const share = shares.get(lane);
      if (share) share.push(index);
      else shares.set(lane, [index]);
    });
    if (shares.size === 1) {
      const [lane] = shares.keys();
      return this.lanes[lane!]!.submit(items, replyTo, onHeld);
    }
    const outcomes = new Array<PersistOutcome>(items.length);
    const shareList = [...shares];
    const settled = await Promise.allSettled(shareList.map(([lane, indexes]) => this.lanes[lane]!.submit(indexes.map((i) => items[i]!), replyTo, onHeld)));
    const failed: number[] = [];
    let reason: string | undefined;
    for (const [s, result] of settled.entries()) {
      const indexes = shareList[s]![1];
      if (result.status === "fulfilled") {
        result.value.forEach((outcome, k) => (outcomes[indexes[k]!] = outcome));
      } else if (result.reason instanceof PoisonItemsError) {
        const poison = result.reason;
        poison.outcomes.forEach((outcome, k) => (outcomes[indexes[k]!] = outcome));
        failed.push(...poison.failed.map((k) => indexes[k]!));
        reason ??= poison.reason;
      } else {
        // An outage: the whole entry is retried; what did commit is answered as duplicates.
        throw result.reason;
      }
    }
    if (failed.length > 0) throw new PoisonItemsError(outcomes, failed.sort((a, b) => a - b), reason ?? "refused");
    return outcomes;
  }

  /** Resolves when no lane has work queued, waiting for a held conversation, or running. */
  async idle(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.idle()));
  }

  /** Messages waiting for a held conversation row, over every lane. */
  heldMessages(): number {
    return this.lanes.reduce((n, lane) => n + lane.heldMessages(), 0);
  }

  /** On stop: entries waiting for a held conversation are left pending (commit-lane.ts). */
  stopWaiting(): void {
    for (const lane of this.lanes) lane.stopWaiting();
  }
}

/** FNV-1a over the conversation id: stable, cheap, evenly spread for UUIDs. */
export function laneOf(conversationId: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < conversationId.length; i++) {
    hash ^= conversationId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % lanes;
}
