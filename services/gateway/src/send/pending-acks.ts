import { ParleyError } from "@parley/protocol";
import type { AckBatch } from "@parley/bus";
import type { PersistOutcome } from "@parley/db";

interface Waiter {
  resolve(outcome: PersistOutcome): void;
  reject(err: ParleyError): void;
  timer: NodeJS.Timeout;
}

/**
 * Sends waiting for the persister's answer, keyed by (sender, clientMessageId). Retries of
 * one message on this pod wait on the same key and all get the same answer. A send the
 * persister has not answered within the timeout is answered UNAVAILABLE: nothing is lost,
 * since the client retries with the same clientMessageId.
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
    for (const ack of batch.acks) {
      const key = `${ack.senderId}\u0000${ack.clientMessageId}`;
      const list = this.waiters.get(key);
      if (!list) continue;
      this.waiters.delete(key);
      for (const w of list) {
        clearTimeout(w.timer);
        w.resolve(ack.outcome as PersistOutcome);
      }
    }
  }

  /** Fails every waiter of the given keys at once (their enqueue failed). */
  fail(keys: readonly { senderId: string; clientMessageId: string }[], err: ParleyError): void {
    for (const k of keys) {
      const key = `${k.senderId}\u0000${k.clientMessageId}`;
      const list = this.waiters.get(key);
      if (!list) continue;
      this.waiters.delete(key);
      for (const w of list) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    }
  }

  private remove(key: string, waiter: Waiter): void {
    const list = this.waiters.get(key);
    if (!list) return;
    const rest = list.filter((w) => w !== waiter);
    if (rest.length === 0) this.waiters.delete(key);
    else this.waiters.set(key, rest);
  }
}
