import { ParleyError } from "@parley/protocol";
import type { Ack } from "@parley/bus";

/** The persister's answer for one item, as its ack carries it (libs/bus `AckSchema`). */
export type SendOutcome = Ack["outcome"];

interface Waiter {
  resolve(outcome: SendOutcome): void;
  reject(err: ParleyError): void;
  /** performance.now() past which the send is answered UNAVAILABLE. */
  deadline: number;
}

/**
 * Sends waiting for the persister's answer, keyed by the id the gateway gave the enqueued
 * item: every send enqueues its own item and the persister answers every item, so each send
 * gets exactly its own outcome (of two concurrent copies of one message, the one committed
 * first hears `duplicate: false`), whatever order commits come back in. A send the persister
 * has not answered within the timeout is answered UNAVAILABLE: nothing is lost, since the
 * client retries with the same clientMessageId.
 *
 * Deadlines are checked by one sweep every `sweepMs` while anything waits, not by a timer per
 * send (a timer armed and cleared per send, each with its own fractional delay, showed in the
 * gateway's CPU profile); a send is answered at most `sweepMs` after its deadline.
 */
export class PendingAcks {
  private readonly waiters = new Map<string, Waiter>();
  private sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly sweepMs = 25,
  ) {}

  get size(): number {
    return this.waiters.size;
  }

  /** `timeoutMs` (at most the default) is what is left of the send's own deadline. */
  wait(itemId: string, timeoutMs = this.timeoutMs): Promise<SendOutcome> {
    return new Promise((resolve, reject) => {
      this.waiters.set(itemId, { resolve, reject, deadline: performance.now() + Math.min(timeoutMs, this.timeoutMs) });
      this.sweep ??= setInterval(() => this.expire(), this.sweepMs);
    });
  }

  /** Answers the send waiting for this item (ack-listener.ts); an ack nobody waits for (its send timed out) is ignored. */
  settle(ack: Ack): void {
    this.take(ack.itemId)?.resolve(ack.outcome);
  }

  /** Fails the waiters of these items (their enqueue failed). */
  fail(items: readonly { id: string }[], err: ParleyError): void {
    for (const item of items) this.take(item.id)?.reject(err);
  }

  private expire(): void {
    const now = performance.now();
    for (const [itemId, waiter] of this.waiters) {
      if (waiter.deadline > now) continue;
      this.waiters.delete(itemId);
      waiter.reject(new ParleyError("UNAVAILABLE", "the message was not confirmed in time; retry with the same clientMessageId"));
    }
    // Stopped by the sweep that finds nothing waiting, not when the last waiter leaves: at
    // low load that would arm and clear a timer per send again.
    if (this.waiters.size === 0) {
      clearInterval(this.sweep);
      this.sweep = undefined;
    }
  }

  private take(itemId: string): Waiter | undefined {
    const waiter = this.waiters.get(itemId);
    if (!waiter) return undefined;
    this.waiters.delete(itemId);
    return waiter;
  }
}
