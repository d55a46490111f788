/**
 * Whether the stream reader may start another XREADGROUP. Anyone finishing an entry may close
 * it for a while (the entry handler does while a commit waits out a Postgres outage, so new
 * entries wait in Redis rather than in this process); the reader waits until every hold is
 * released. Shared by the two, so neither needs the other.
 */
export class ReadGate {
  private holds = 0;
  private readonly listeners = new Set<() => void>();

  /** No one holds the gate. */
  get open(): boolean {
    return this.holds === 0;
  }

  /** Closes the gate until the returned function is called (calling it twice releases once). */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      for (const listener of this.listeners) listener();
    };
  }

  /** Calls `listener` after each release (the reader re-checks whether it may read). */
  onRelease(listener: () => void): void {
    this.listeners.add(listener);
  }
}
