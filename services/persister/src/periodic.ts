/**
 * Runs `round` every `everyMs`, each round starting after the previous one finished, until
 * stopped. A failed round is reported to `failed` and the next one tries again; the timer
 * never keeps the process alive.
 */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly everyMs: number,
    private readonly round: () => Promise<void>,
    private readonly failed: (err: unknown) => void,
  ) {}

  start(): void {
    this.schedule();
  }

  /** No further round; resolves once the one running (if any) has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch(this.failed)
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.everyMs);
    this.timer.unref();
  }
}

/**
 * The persist stream's rounds for a given PERSIST_CLAIM_IDLE_MS: heartbeats, reclaims and the
 * idle-consumer sweep every third of it (so a live pod re-claims what it holds long before
 * another may take it), at least every 5 s and at most every 100 ms; the timers tick at most
 * a second apart (the trim's pace).
 */
export function streamRounds(claimIdleMs: number): { everyMs: number; tickMs: number } {
  const everyMs = Math.min(5_000, Math.max(100, Math.floor(claimIdleMs / 3)));
  return { everyMs, tickMs: Math.min(1_000, everyMs) };
}
