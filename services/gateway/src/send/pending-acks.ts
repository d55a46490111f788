import { ParleyError } from "@parley/protocol";
import type { AckBatch } from "@parley/bus";
import type { PersistOutcome } from "@parley/db";

interface Waiter {
  resolve(outcome: PersistOutcome): void;
  reject(err: ParleyError): void;
  timer: NodeJS.Timeout;
}

/**
 * Sends waiting for the persister's answer, keyed by (sender, clientMessageId). Every send
 * enqueues its own item and the persister answers every item, in order, so each ack settles
 * the oldest waiter of its key: of two concurrent copies of one message on this pod, the
 * first is answered `duplicate: false` and the second `duplicate: true`, with the same
 * message. A send the persister has not answered within the timeout is answered
 * UNAVAILABLE: nothing is lost, since the client retries with the same clientMessageId.
 */
export class PendingAcks {
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.waiters.size;
  }

  wait(senderId: string, clientMessageId: string): Promise<PersistOutcome> {
    const key = `${senderId}\u0000${clientMessageId}`;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.remove(key, waiter);
          reject(new ParleyError("UNAVAILABLE", "the message was not confirmed in time; retry with the same clientMessageId"));
        }, this.timeoutMs),
      };
      const list = this.waiters.get(key);
      if (list) list.push(waiter);
      else this.waiters.set(key, [waiter]);
    });
  }

  settle(batch: AckBatch): void {
    for (const ack of batch.acks) this.takeOldest(ack.senderId, ack.clientMessageId)?.resolve(ack.outcome as PersistOutcome);
  }

  /** Fails one waiter per item (their enqueue failed). */
  fail(items: readonly { senderId: string; clientMessageId: string }[], err: ParleyError): void {
    for (const item of items) this.takeOldest(item.senderId, item.clientMessageId)?.reject(err);
  }

  private takeOldest(senderId: string, clientMessageId: string): Waiter | undefined {
    const key = `${senderId}\u0000${clientMessageId}`;
    const list = this.waiters.get(key);
    const waiter = list?.shift();
    if (list?.length === 0) this.waiters.delete(key);
    if (waiter) clearTimeout(waiter.timer);
    return waiter;
  }

  private remove(key: string, waiter: Waiter): void {
    const list = this.waiters.get(key);
    if (!list) return;
    const rest = list.filter((w) => w !== waiter);
    if (rest.length === 0) this.waiters.delete(key);
    else this.waiters.set(key, rest);
  }
}
