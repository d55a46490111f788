import { setTimeout as sleep } from "node:timers/promises";
import { isTransientDbError, type PersistItem, type PersistOutcome } from "@parley/db";
import { retryDelayMs } from "../retry-delay.js";
import { PoisonItemsError, refusedOutcome } from "./poison-items-error.js";

/** One entry's share of the lane: answered once every item has an outcome. */
interface Pending {
  items: PersistItem[];
  /** Where the items' acks go (the sending gateway pod). */
  replyTo: string;
  outcomes: (PersistOutcome | undefined)[];
  left: number;
  /** Positions Postgres refused (a poison message), and why. */
  failed: number[];
  reason?: string;
  settled: boolean;
  /** Called once, when some of the entry's items first wait for a held conversation. */
  onHeld: (() => void) | undefined;
  resolve(outcomes: PersistOutcome[]): void;
  reject(err: unknown): void;
}

/** One item of an entry, as the lane moves it. */
interface Slot {
  entry: Pending;
  index: number;
}

const itemOf = (s: Slot): PersistItem => s.entry.items[s.index]!;

/** A conversation whose row another transaction held: its items wait, in order, for a retry. */
interface Parked {
  slots: Slot[];
  attempt: number;
  dueAt: number;
}

export interface CommitLaneOptions {
  /**
   * Commits a batch in one transaction; answers each item in order, `undefined` for an item
   * whose conversation row another transaction held (nothing of it stored: @parley/db
   * `commitBatch`, migration 0016).
   */
  commit(items: PersistItem[]): Promise<(PersistOutcome | undefined)[]>;
  /**
   * Runs right after each commit, before the lane's next transaction starts, with the items
   * the commit answered: the fan-out is issued here (publish/after-commit.ts) so that messages
   * of one conversation leave this process in seq order.
   */
  onCommitted(items: PersistItem[], replyTo: string[], outcomes: PersistOutcome[], durationMs: number): void;
  /** Messages put off because their conversation's row was held (for the metrics). */
  onHeld?(messages: number): void;
  maxBatch: number;
  /**
   * The commit clock: a transaction starts at least this long after the previous one started.
   * Under load, sends arriving in between join the next transaction instead of each paying a
   * commit of their own; after a quiet spell a send is committed at once (0: no clock; why:
   * docs/decisions/0003-commit-clock.md).
   */
  minIntervalMs: number;
  /** First and longest wait before a held conversation is tried again (defaults 25 ms, 1 s). */
  heldRetryMs?: { initial: number; max: number };
}

/** Answers the entries whose conversation was still held when the persister stopped. */
export class LaneStoppedError extends Error {
  override readonly name = "LaneStoppedError";
  constructor() {
    super("the persister stopped while the entry's conversation row was held; the entry stays pending");
  }
}

/**
 * One transaction at a time, merging everything that arrived while the previous one ran:
 * at low load a message is committed at once, under load many entries share one commit
 * (Postgres's cost is mostly per commit: docs/decisions/0002-commit-function-looks-up-by-key.md).
 *
 * A conversation whose row another transaction holds (a long transaction of an operator, a
 * migration) is parked: its items, and every later item of it, wait aside and are tried
 * again with backoff, in order, while the other conversations keep committing
 * (docs/decisions/0087-held-conversations-wait-aside.md). Before, one held row stalled the
 * lane, and with it every conversation.
 *
 * When a merged transaction fails for a reason that is not an outage (a poison message), it
 * is split in halves until the refused messages are found: they alone are answered INTERNAL
 * (PoisonItemsError), everything else is committed.
 */
export class CommitLane {
  private queue: Pending[] = [];
  private readonly parked = new Map<string, Parked>();
  private running: Promise<void> | undefined;
  private lastStart = -Infinity;
  private wake: (() => void) | undefined;
  private stopped = false;
  private readonly heldRetry: { initial: number; max: number };

  constructor(private readonly opts: CommitLaneOptions) {
    this.heldRetry = opts.heldRetryMs ?? { initial: 25, max: 1_000 };
  }

  /** `onHeld` is called once if some of the items wait for a held conversation row. */
  submit(items: PersistItem[], replyTo: string, onHeld?: () => void): Promise<PersistOutcome[]> {
    return new Promise((resolve, reject) => {
      if (items.length === 0) return resolve([]);
      this.queue.push({ items, replyTo, outcomes: items.map(() => undefined), left: items.length, failed: [], settled: false, onHeld, resolve, reject });
      this.wake?.();
      this.running ??= this.loop().finally(() => {
        this.running = undefined;
      });
    });
  }

  /** Resolves when nothing is queued, parked or running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Messages waiting for a held conversation row. */
  heldMessages(): number {
    let n = 0;
    for (const p of this.parked.values()) for (const s of p.slots) if (!s.entry.settled) n++;
    return n;
  }

  /**
   * On stop: the conversations waiting for a held row are tried once more at once (a row held
   * for a moment, by another persister's commit, is free by then); what is still held is
   * answered LaneStoppedError (it stays pending in the stream: re-read on restart, or
   * reclaimed), and so is any entry that would wait from now on. What is queued still commits.
   */
  stopWaiting(): void {
    this.stopped = true;
    for (const p of this.parked.values()) p.dueAt = 0;
    this.wake?.();
  }

  private async loop(): Promise<void> {
    for (;;) {
      const now = performance.now();
      if (this.queue.length === 0) {
        if (this.parked.size === 0) return;
        const due = Math.min(...[...this.parked.values()].map((p) => p.dueAt));
        if (due > now) {
          // Until the next held conversation is due, or a new entry arrives.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, due - now);
            function done() {
              clearTimeout(timer);
              resolve();
            }
            this.wake = done;
          });
          this.wake = undefined;
          continue;
        }
      }
      const wait = this.lastStart + this.opts.minIntervalMs - performance.now();
      if (wait >= 1) await sleep(wait);
      this.lastStart = performance.now();
      const { slots, retried } = this.take();
      if (slots.length > 0) await this.commitSlots(slots, retried);
    }
  }

  /**
   * The next transaction's items: the held conversations now due first (their items are the
   * oldest), then queued entries up to maxBatch messages; an item of a conversation still
   * parked joins the back of its wait instead.
   */
  private take(): { slots: Slot[]; retried: Map<string, number> } {
    const slots: Slot[] = [];
    const retried = new Map<string, number>();
    const now = performance.now();
    for (const [conversationId, p] of this.parked) {
      if (p.dueAt > now) continue;
      this.parked.delete(conversationId);
      retried.set(conversationId, p.attempt);
      for (const s of p.slots) if (!s.entry.settled) slots.push(s);
    }
    let taken = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (taken > 0 && slots.length + next.items.length > this.opts.maxBatch) break;
      this.queue.shift();
      taken++;
      next.items.forEach((item, index) => {
        const parked = this.parked.get(item.conversationId);
        if (parked) parked.slots.push({ entry: next, index });
        else slots.push({ entry: next, index });
      });
    }
    return { slots, retried };
  }

  private async commitSlots(slots: Slot[], retried: Map<string, number>): Promise<void> {
    const held: Slot[] = [];
    try {
      await this.commitOrIsolate(slots, held);
    } catch (err) {
      // An outage: every entry of the transaction fails at once and is retried whole by the
      // entry handler (what already committed is then answered as duplicates).
      for (const s of slots) this.settle(s.entry, err);
      return;
    }
    // Parked once, after every half of an isolation ran, so the items keep their order.
    if (held.length > 0) this.park(held, retried);
  }

  /**
   * Commits `slots`; on a refusal that is not an outage, in halves until the refused items are
   * alone. Items of held conversations are added to `held`, in order.
   */
  private async commitOrIsolate(slots: Slot[], held: Slot[]): Promise<void> {
    // A conversation held in an earlier half waits whole: none of its later items go first.
    const waiting = new Set(held.map((s) => itemOf(s).conversationId));
    const live: Slot[] = [];
    for (const s of slots) {
      if (s.entry.settled) continue;
      if (waiting.has(itemOf(s).conversationId)) held.push(s);
      else live.push(s);
    }
    if (live.length === 0) return;
    const items = live.map(itemOf);
    const started = performance.now();
    let outcomes: (PersistOutcome | undefined)[];
    try {
      outcomes = await this.opts.commit(items);
    } catch (err) {
      if (isTransientDbError(err)) throw err;
      if (live.length === 1) {
        const s = live[0]!;
        s.entry.failed.push(s.index);
        s.entry.reason ??= err instanceof Error ? err.message : String(err);
        this.answer(s, refusedOutcome());
        return;
      }
      const mid = live.length >> 1;
      await this.commitOrIsolate(live.slice(0, mid), held);
      await this.commitOrIsolate(live.slice(mid), held);
      return;
    }
    const answered: Slot[] = [];
    const answers: PersistOutcome[] = [];
    outcomes.forEach((o, k) => {
      if (o === undefined) {
        held.push(live[k]!);
      } else {
        answered.push(live[k]!);
        answers.push(o);
      }
    });
    if (answered.length > 0) {
      this.opts.onCommitted(
        answered.map(itemOf),
        answered.map((s) => s.entry.replyTo),
        answers,
        performance.now() - started,
      );
      answered.forEach((s, k) => this.answer(s, answers[k]!));
    }
  }

  /** Puts held items aside, in order, ahead of any later item of their conversation. */
  private park(held: Slot[], retried: Map<string, number>): void {
    this.opts.onHeld?.(held.length);
    if (this.stopped) {
      for (const s of held) this.settle(s.entry, new LaneStoppedError());
      return;
    }
    const byConversation = new Map<string, Slot[]>();
    for (const s of held) {
      const notify = s.entry.onHeld;
      s.entry.onHeld = undefined;
      notify?.();
      const id = itemOf(s).conversationId;
      byConversation.set(id, [...(byConversation.get(id) ?? []), s]);
    }
    for (const [conversationId, slots] of byConversation) {
      const attempt = (retried.get(conversationId) ?? -1) + 1;
      const later = this.parked.get(conversationId)?.slots ?? [];
      const dueAt = performance.now() + retryDelayMs(attempt, this.heldRetry.initial, this.heldRetry.max);
      this.parked.set(conversationId, { slots: [...slots, ...later], attempt, dueAt });
    }
  }

  private answer(s: Slot, outcome: PersistOutcome): void {
    const e = s.entry;
    if (e.settled) return;
    e.outcomes[s.index] = outcome;
    if (--e.left > 0) return;
    e.settled = true;
    const outcomes = e.outcomes as PersistOutcome[];
    if (e.failed.length > 0) e.reject(new PoisonItemsError(outcomes, e.failed.sort((a, b) => a - b), e.reason ?? "refused"));
    else e.resolve(outcomes);
  }

  private settle(entry: Pending, err: unknown): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.reject(err);
  }
}
