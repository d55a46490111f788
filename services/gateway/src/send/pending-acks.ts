import { ParleyError } from "@parley/protocol";
import type { Ack } from "@parley/bus";
import type { PersistOutcome } from "@parley/db";

interface Waiter {
  resolve(outcome: PersistOutcome): void;
  reject(err: ParleyError): void;
  timer: NodeJS.Timeout;
}

/**
 * Sends waiting for the persister's answer, keyed by the id the gateway gave the enqueued
 * item: every send enqueues its own item and the persister answers every item, so each send
 * gets exactly its own outcome (of two concurrent copies of one message, the one committed
 * first hears `duplicate: false`), whatever order commits come back in. A send the persister
 * has not answered within the timeout is answered UNAVAILABLE: nothing is lost, since the
 * client retries with the same clientMessageId.
 */
export class PendingAcks {
  private readonly waiters = new Map<string, Waiter>();

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.waiters.size;
  }

  /** `timeoutMs` (at most the default) is what is left of the send's own deadline. */
  wait(itemId: string, timeoutMs = this.timeoutMs): Promise<PersistOutcome> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(itemId);
        reject(new ParleyError("UNAVAILABLE", "the message was not confirmed in time; retry with the same clientMessageId"));
      }, Math.min(timeoutMs, this.timeoutMs));
      this.waiters.set(itemId, { resolve, reject, timer });
    });
  }

  settle(ack: Ack): void {
    this.take(ack.itemId)?.resolve(ack.outcome as PersistOutcome);
  }

  /** Fails the waiters of these items (their enqueue failed). */
  fail(items: readonly { id: string }[], err: ParleyError): void {
    for (const item of items) this.take(item.id)?.reject(err);
  }

  private take(itemId: string): Waiter | undefined {
    const waiter = this.waiters.get(itemId);
    if (!waiter) return undefined;
    this.waiters.delete(itemId);
    clearTimeout(waiter.timer);
    return waiter;
  }
}
