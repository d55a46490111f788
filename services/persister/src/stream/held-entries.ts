/**
 * What the reclaimer may do with the entries this pod holds, and nothing more: find those due
 * a heartbeat and record it, skip them when reclaiming, and hand a reclaimed entry to the
 * reader like one it read. The stream reader implements it; the map behind it stays the reader's.
 */
export interface HeldEntries {
  /** Ids of the entries held whose last heartbeat (or read, or claim) is at or before `before` (epoch ms). */
  dueForHeartbeat(before: number): string[];
  /** Redis was told at `at` (epoch ms) that this pod still holds these entries. */
  heartbeated(ids: readonly string[], at: number): void;
  /** This pod is working on the entry: it is never reclaimed from a live pod. */
  holds(id: string): boolean;
  /**
   * Takes a reclaimed entry to its end, like one read. `redelivered`: another run or another pod
   * had it before, so what it finds stored may never have been announced (entry-handler.ts).
   */
  dispatch(id: string, fields: readonly string[], redelivered: boolean): void;
  /** The reader stopped: nothing more is taken on. */
  isStopped(): boolean;
}
