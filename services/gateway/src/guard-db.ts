import { isTransientDbError, runCancellable } from "@parley/db";
import { ParleyError } from "@parley/protocol";
import type { Counter, Gauge } from "prom-client";

export interface DbGuardOptions {
  /** The contract's answer time, less the time to answer (DB_TIMEOUT_MS). */
  timeoutMs: number;
  /** Calls running at once: the pool's connections (DATABASE_POOL_SIZE), so none waits inside postgres.js. */
  maxActive: number;
  /** Calls waiting for one of those (DB_QUEUE_MAX); one more is refused at once. */
  maxWaiting: number;
  metrics: {
    dbWaiting: Gauge;
    dbRefused: Counter;
    dbTimeouts: Counter;
  };
}

const unavailable = (why: string, retryAfterMs?: number) => new ParleyError("UNAVAILABLE", why, retryAfterMs);

/**
 * Every database call on a request path goes through here. It bounds three things:
 * - time: an outage or a slow query is answered UNAVAILABLE within the contract's 2 s;
 * - the connection: a call given up on has its queries cancelled at once, so its connection
 *   is free again instead of busy until `statement_timeout`;
 * - the queue: at most `maxActive` calls run (one per pool connection) and `maxWaiting` wait;
 *   past that a call is refused at once with `retryAfterMs` (it did nothing), instead of
 *   queuing without end inside postgres.js behind a slow database.
 * Own code rather than p-limit or p-queue: docs/decisions/0030-database-call-guard.md.
 */
export class DbGuard {
  private active = 0;
  private readonly waiting = new Set<() => void>();

  constructor(private readonly opts: DbGuardOptions) {}

  /**
   * `work` must make its queries through the pool's `sql` (createDatabase's), so they can be
   * cancelled. `withinMs`: a shorter bound than DB_TIMEOUT_MS (what is left of a send's).
   */
  async run<T>(work: () => Promise<T>, withinMs = Infinity): Promise<T> {
    const deadline = Date.now() + Math.min(withinMs, this.opts.timeoutMs);
    // A waiter is handed the slot of the call that ends (release), so none is counted twice.
    if (this.active < this.opts.maxActive) this.active++;
    else await this.waitForTurn(deadline);
    const call = runCancellable(work);
    // The slot is the connection: it is free once the work (cancelled or not) has settled.
    call.done.then(this.release, this.release);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        call.cancel();
        this.opts.metrics.dbTimeouts.inc();
        reject(unavailable("the database is not answering; retry later"));
      }, Math.max(0, deadline - Date.now()));
    });
    try {
      return await Promise.race([call.done, timeout]);
    } catch (err) {
      if (err instanceof ParleyError) throw err;
      if (isTransientDbError(err)) throw unavailable("the database is out of reach; retry later");
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private readonly release = () => {
    const next = this.waiting.values().next();
    if (next.done) this.active--;
    else next.value();
  };

  private waitForTurn(deadline: number): Promise<void> {
    if (this.waiting.size >= this.opts.maxWaiting) {
      this.opts.metrics.dbRefused.inc();
      // About one call's time: by then the queue has moved.
      return Promise.reject(unavailable("the database is busy; retry later", 250));
    }
    return new Promise<void>((resolve, reject) => {
      const turn = () => {
        clearTimeout(timer);
        this.waiting.delete(turn);
        this.opts.metrics.dbWaiting.set(this.waiting.size);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiting.delete(turn);
        this.opts.metrics.dbWaiting.set(this.waiting.size);
        this.opts.metrics.dbTimeouts.inc();
        reject(unavailable("the database is not answering; retry later"));
      }, Math.max(0, deadline - Date.now()));
      this.waiting.add(turn);
      this.opts.metrics.dbWaiting.set(this.waiting.size);
    });
  }
}
