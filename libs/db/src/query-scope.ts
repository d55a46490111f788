import { AsyncLocalStorage } from "node:async_hooks";
import type { Sql } from "./client.js";

/** What postgres.js' Query exposes (the library types leave `executed` out). */
interface TrackedQuery {
  executed?: boolean;
  cancel(): unknown;
}

interface Scope {
  queries: TrackedQuery[];
}

const scopes = new AsyncLocalStorage<Scope>();

const isQuery = (x: unknown): x is TrackedQuery =>
  x instanceof Promise && typeof (x as Partial<TrackedQuery>).cancel === "function";

function remember<T>(result: T): T {
  const scope = scopes.getStore();
  if (scope && isQuery(result)) scope.queries.push(result);
  return result;
}

/**
 * The pool's `sql`, recording every query it makes inside `runCancellable` so that a caller
 * who gives up can cancel them (postgres.js cancels a queued query by dropping it from the
 * queue, a running one by a CancelRequest to its backend). Transactions' `sql` is wrapped
 * too. Outside `runCancellable` it only forwards: one AsyncLocalStorage look-up per query.
 */
export function trackQueries(sql: Sql): Sql {
  return new Proxy(sql, {
    apply: (target, thisArg, args: unknown[]) => remember(Reflect.apply(target, thisArg, args)),
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (prop === "unsafe" && typeof value === "function") {
        return (...args: unknown[]) => remember(Reflect.apply(value, target, args));
      }
      if (prop === "begin" && typeof value === "function") {
        return (...args: unknown[]) => {
          const last = args.length - 1;
          const body = args[last] as (tx: Sql) => unknown;
          args[last] = (tx: Sql) => body(trackQueries(tx));
          return Reflect.apply(value, target, args);
        };
      }
      return value;
    },
  });
}

export interface CancellableWork<T> {
  done: Promise<T>;
  /** Cancels the work's queries that were sent or queued; answers how many. */
  cancel(): number;
}

/**
 * Runs `work`, remembering the queries it makes through a `trackQueries` pool (across its
 * awaits), so `cancel()` can free their connections when the caller stops waiting instead of
 * leaving them busy until `statement_timeout`. A query that already finished is left alone by
 * postgres.js; a query fragment that was never sent is not touched.
 */
export function runCancellable<T>(work: () => Promise<T>): CancellableWork<T> {
  const scope: Scope = { queries: [] };
  // A synchronous throw becomes the rejection, so a caller that counts on `done` settling does.
  const done = scopes.run(scope, async () => work());
  return {
    done,
    cancel() {
      let n = 0;
      for (const q of scope.queries) {
        if (!q.executed) continue;
        q.cancel();
        n++;
      }
      scope.queries.length = 0;
      return n;
    },
  };
}
