/**
 * Which socket got which message, for a conversation whose every member listens: counts each
 * (message, socket) delivery once, and names the two ways a fan-out can be wrong beyond losing
 * one: the same message twice on a socket, and a socket seeing seqs go backwards.
 *
 * Order is checked per stream: a stream is a sequence that promises rising seqs (Parley's
 * conversation; each bare ceiling server numbers only what it broadcasts itself).
 */
export class DeliveryTally {
  /** Per message: one byte per socket, 1 once delivered there. */
  private readonly got = new Map<string, Uint8Array>();
  private readonly counts = new Map<string, number>();
  /** Per stream: the last seq each socket saw. */
  private readonly lastSeq = new Map<number, Float64Array>();
  duplicates = 0;
  outOfOrder = 0;

  constructor(private readonly sockets: number) {}

  /** Starts expecting `key` on every socket. */
  expect(key: string): void {
    this.got.set(key, new Uint8Array(this.sockets));
    this.counts.set(key, 0);
  }

  /**
   * Records `key` (seq `seq` in `stream`) arriving on `socket`. Returns true for a first
   * delivery, false for a duplicate or an unknown key (another run's message).
   */
  deliver(key: string, socket: number, stream: number, seq: number): boolean {
    const seen = this.got.get(key);
    if (!seen) return false;
    if (seen[socket]) {
      this.duplicates++;
      return false;
    }
    let last = this.lastSeq.get(stream);
    if (!last) this.lastSeq.set(stream, (last = new Float64Array(this.sockets)));
    if (seq <= last[socket]!) this.outOfOrder++;
    else last[socket] = seq;
    seen[socket] = 1;
    this.counts.set(key, this.counts.get(key)! + 1);
    return true;
  }

  /** Sockets `key` reached so far. */
  count(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  complete(key: string): boolean {
    return this.count(key) === this.sockets;
  }
}
