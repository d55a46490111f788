import type { Message } from "@parley/protocol";

/**
 * The stored messages of one conversation that this client holds: a contiguous run of seqs
 * `floor+1 … lastSeq` (everything in it is present), plus messages seen beyond a gap, held
 * until the gap is filled. Pure bookkeeping, no I/O: the conversation view decides when to
 * fetch.
 *
 * - ordered by `seq`, deduplicated by `id` (a message arriving live, in a sync and in a gap
 *   fill is kept once);
 * - `floor` is unknown until the first sync (or conversation event) says where the window
 *   starts; live messages before that are kept and merged.
 */
export class MessageWindow {
  private readonly bySeq = new Map<number, Message>();
  private readonly seqById = new Map<string, number>();
  private floorSeq: number | undefined;
  private contiguous = 0;
  private sorted: Message[] | undefined;

  /** Every seq ≤ floor is older than the window (`loadOlder` territory); undefined before the first sync. */
  get floor(): number | undefined {
    return this.floorSeq;
  }

  /** The highest seq up to which nothing is missing (0 before anything is known). */
  get lastSeq(): number {
    return this.contiguous;
  }

  /** The highest seq held (beyond a gap, when there is one). */
  get maxSeq(): number {
    let max = this.contiguous;
    for (const seq of this.bySeq.keys()) if (seq > max) max = seq;
    return max;
  }

  /** Some message beyond `lastSeq + 1` is held: seqs in between are missing. */
  get hasGap(): boolean {
    return this.floorSeq !== undefined && this.maxSeq > this.contiguous;
  }

  get known(): boolean {
    return this.floorSeq !== undefined;
  }

  get size(): number {
    return this.bySeq.size;
  }

  /** Ascending by seq (the array is reused until the next change). */
  list(): readonly Message[] {
    this.sorted ??= [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
    return this.sorted;
  }

  get(id: string): Message | undefined {
    const seq = this.seqById.get(id);
    return seq === undefined ? undefined : this.bySeq.get(seq);
  }

  /**
   * Places the window: everything up to `floor` is older history. Called by the first sync
   * (floor = the page's first seq − 1, or the conversation's lastSeq when the page is empty).
   * A window already placed only moves down (older pages), never up.
   */
  setFloor(floor: number): void {
    if (this.floorSeq !== undefined && floor >= this.floorSeq) return;
    this.floorSeq = floor;
    // Messages held below the new floor stay (they are simply older); advance over what we hold.
    if (this.contiguous < floor) this.contiguous = floor;
    this.advance();
  }

  /** Adds messages; returns those that were new (by id). */
  add(messages: readonly Message[]): Message[] {
    const added: Message[] = [];
    for (const m of messages) {
      if (this.seqById.has(m.id) || this.bySeq.has(m.seq)) continue;
      this.bySeq.set(m.seq, m);
      this.seqById.set(m.id, m.seq);
      added.push(m);
    }
    if (added.length > 0) {
      this.sorted = undefined;
      this.advance();
    }
    return added;
  }

  /** Adds an older page (`loadOlder`): the floor moves down to just before its first message. */
  addOlder(messages: readonly Message[], hasMore: boolean): Message[] {
    const added = this.add(messages);
    const first = messages.reduce((min, m) => Math.min(min, m.seq), Number.POSITIVE_INFINITY);
    if (Number.isFinite(first)) this.setFloor(first - 1);
    // Nothing older is left: the window reaches the conversation's first message.
    if (!hasMore) this.setFloor(0);
    return added;
  }

  /** Replaces a held message (edit, deletion, reactions); false when it is not held. */
  replace(message: Message): boolean {
    const seq = this.seqById.get(message.id);
    if (seq === undefined) return false;
    this.bySeq.set(seq, message);
    this.sorted = undefined;
    return true;
  }

  /** Forgets everything: the window is placed again by the next page (`loadAround`, reopening at the newest page). */
  reset(): void {
    this.bySeq.clear();
    this.seqById.clear();
    this.floorSeq = undefined;
    this.contiguous = 0;
    this.sorted = undefined;
  }

  /** Drops the `count` oldest messages (the cap, while following the newest): the floor rises past them. */
  dropOldest(count: number): void {
    if (count <= 0) return;
    const dropped = this.list().slice(0, count);
    for (const m of dropped) this.forget(m);
    const top = dropped.at(-1);
    if (top && this.floorSeq !== undefined && top.seq > this.floorSeq) this.floorSeq = top.seq;
    if (this.floorSeq !== undefined && this.contiguous < this.floorSeq) this.contiguous = this.floorSeq;
    this.sorted = undefined;
    this.advance();
  }

  /** Drops the `count` newest messages (the cap, while paging back): the window then ends before the conversation does. */
  dropNewest(count: number): void {
    if (count <= 0) return;
    const list = this.list();
    const dropped = list.slice(Math.max(0, list.length - count));
    for (const m of dropped) this.forget(m);
    const bottom = dropped[0];
    if (bottom && this.contiguous >= bottom.seq) this.contiguous = bottom.seq - 1;
    this.sorted = undefined;
  }

  private forget(m: Message): void {
    this.bySeq.delete(m.seq);
    this.seqById.delete(m.id);
  }

  private advance(): void {
    if (this.floorSeq === undefined) return;
    while (this.bySeq.has(this.contiguous + 1)) this.contiguous++;
  }
}
