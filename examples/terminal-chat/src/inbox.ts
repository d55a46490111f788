import type { ClientEventMap, ClientEventName } from "@parley/client";

export type UserId = "alice" | "bob";

/** How long the demo waits for one event (they take milliseconds; presence up to a flush, 1 s). */
export const EVENT_TIMEOUT_MS = 5_000;

interface Entry {
  userId: UserId;
  event: ClientEventName;
  payload: unknown;
}

interface Waiter {
  matches(entry: Entry): boolean;
  done(payload: unknown): void;
}

/**
 * Every SDK event each user's client emitted, so the demo can wait for one whether it came
 * before or after it asks.
 */
export class Inbox {
  readonly #seen: Entry[] = [];
  readonly #waiters = new Set<Waiter>();

  record<E extends ClientEventName>(userId: UserId, event: E, payload: ClientEventMap[E]): void {
    const entry = { userId, event, payload };
    this.#seen.push(entry);
    for (const waiter of this.#waiters) if (waiter.matches(entry)) waiter.done(payload);
  }

  /** A position in the inbox: `waitFor(..., { since })` looks only at what came after it. */
  get mark(): number {
    return this.#seen.length;
  }

  /** Resolves with the first matching payload, or undefined after `ms`. */
  waitFor<E extends ClientEventName>(
    userId: UserId,
    event: E,
    match: (payload: ClientEventMap[E]) => boolean = () => true,
    { ms = EVENT_TIMEOUT_MS, since = 0 }: { ms?: number; since?: number } = {},
  ): Promise<ClientEventMap[E] | undefined> {
    // record() pairs each payload with its event name, so the cast holds.
    const matches = (e: Entry) => e.userId === userId && e.event === event && match(e.payload as ClientEventMap[E]);
    const found = this.#seen.slice(since).find(matches);
    if (found) return Promise.resolve(found.payload as ClientEventMap[E]);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        matches,
        done: (payload) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(payload as ClientEventMap[E] | undefined);
        },
      };
      const timer = setTimeout(() => waiter.done(undefined), ms);
      this.#waiters.add(waiter);
    });
  }
}
