/**
 * Coalesces the SDK's change notifications into at most one React update per `delayMs` (a
 * frame by default). Messages of a burst arrive in separate network tasks, which React
 * cannot batch by itself: without this, each message renders every component that reads
 * it. The state itself is never delayed or copied: when React renders, the hooks read the
 * SDK's current snapshots. A timer, not `requestAnimationFrame`: frames stop in a hidden tab,
 * and an app may still show an unread count in the tab's title.
 */
export class RenderBatcher {
  private readonly pending = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly delayMs: number) {}

  /** Calls `onChange` once at the end of the current window (at once when `delayMs` is 0). */
  schedule(onChange: () => void): void {
    if (this.delayMs <= 0) return onChange();
    this.pending.add(onChange);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** A component unsubscribed: it is not called any more. */
  cancel(onChange: () => void): void {
    this.pending.delete(onChange);
  }

  private flush(): void {
    this.timer = undefined;
    const due = [...this.pending];
    this.pending.clear();
    for (const onChange of due) onChange();
  }
}

/** `subscribe` for `useSyncExternalStore` over a source's own subscribe, with notifications batched. */
export function batched(batcher: RenderBatcher, source: (onChange: () => void) => () => void): (onChange: () => void) => () => void {
  return (onChange) => {
    const off = source(() => batcher.schedule(onChange));
    return () => {
      off();
      batcher.cancel(onChange);
    };
  };
}
