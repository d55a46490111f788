/**
 * `useSyncExternalStore` needs `getSnapshot` to return the same value while nothing changed
 * (else React renders in a loop). The SDK's own snapshots (`view.messages`, `view.typing`,
 * `view.receipts`) are already stable arrays; a hook that combines several of them into one
 * object keeps the previous object while every field is the same (`Object.is`), so the
 * component renders only when something it reads changed.
 */
export function keepIfSame<T extends object>(previous: T | undefined, next: T): T {
  if (previous === undefined) return next;
  const a = previous as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  const keys = Object.keys(b);
  if (keys.length !== Object.keys(a).length) return next;
  for (const key of keys) if (!Object.is(a[key], b[key])) return next;
  return previous;
}
