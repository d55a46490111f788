import type { NetworkSignal } from "./types.js";

interface EventTargetLike {
  addEventListener?: (t: string, fn: () => void) => void;
  removeEventListener?: (t: string, fn: () => void) => void;
}

/**
 * The browser's network signal: `navigator.onLine` and the window's `online`/`offline`
 * events; undefined where there are none (Node).
 */
export function browserNetwork(): NetworkSignal | undefined {
  const target = globalThis as EventTargetLike & { navigator?: { onLine?: unknown } };
  if (typeof target.addEventListener !== "function" || typeof target.removeEventListener !== "function") return undefined;
  return {
    isOffline: () => target.navigator?.onLine === false,
    subscribe(fn) {
      const online = () => fn(true);
      const offline = () => fn(false);
      target.addEventListener!("online", online);
      target.addEventListener!("offline", offline);
      return () => {
        target.removeEventListener!("online", online);
        target.removeEventListener!("offline", offline);
      };
    },
  };
}


/**
 * Calls `fn` when the page becomes visible again (a tab brought back, a phone unlocked):
 * timers and sockets of a hidden page may have been throttled or frozen meanwhile, so the
 * client syncs. Undefined where there is no `document` (Node, React Native: that entry uses AppState).
 */
export function onPageVisible(fn: () => void): (() => void) | undefined {
  const doc = (globalThis as { document?: EventTargetLike & { visibilityState?: string } }).document;
  if (!doc || typeof doc.addEventListener !== "function" || typeof doc.removeEventListener !== "function") return undefined;
  const listener = () => {
    if (doc.visibilityState === "visible") fn();
  };
  doc.addEventListener("visibilitychange", listener);
  return () => doc.removeEventListener!("visibilitychange", listener);
}
