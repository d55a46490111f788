/** The part of the Web Locks API the election uses (`navigator.locks`). */
export interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown>;
}

/** The Web Locks of this environment, or undefined (Node, React Native, old browsers). */
export function webLocks(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return typeof nav?.locks?.request === "function" ? nav.locks : undefined;
}

/**
 * Waits for the exclusive lock `name` and holds it until `release()` (or the tab goes: the
 * browser frees a closed or crashed tab's locks at once, and the next waiting tab gets it).
 * Web Locks queue the waiting tabs, so exactly one holds it at any time.
 */
export function holdLock(locks: LockManagerLike, name: string, onAcquired: () => void, onError: (error: unknown) => void): { release(): void } {
  const abort = new AbortController();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  locks
    .request(name, { signal: abort.signal }, async () => {
      onAcquired();
      await held;
    })
    .catch((error: unknown) => {
      if (!abort.signal.aborted) onError(error);
    });
  return {
    release() {
      abort.abort(); // still waiting: leave the queue
      release(); // holding: let the next tab have it
    },
  };
}
