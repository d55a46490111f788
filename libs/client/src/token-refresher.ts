/** setTimeout's ceiling (a longer delay fires at once); far expiries are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** When a refresh fails, or the provider handed back a token no younger, try again after this at most. */
const RETRY_MS = 30_000;

export interface TokenRefresherDeps {
  now: () => number;
  /** Refresh this long before `exp` at most (a third of a shorter lifetime otherwise). */
  leadMs: number;
  /** Gets a new token and sends it with `auth:refresh`; resolves with the new `exp` (seconds), or undefined when it failed. */
  refresh: () => Promise<number | undefined>;
  onError: (err: unknown) => void;
}

/**
 * Keeps a live session's token fresh: shortly before `exp` it asks for a new token and sends
 * it with `auth:refresh`, then waits for the next `exp`. If that fails, it tries again until
 * the session expires; the server then says `session:expired` and the reconnection takes a
 * fresh token anyway.
 */
export class TokenRefresher {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private exp: number | undefined;
  private armedAt = 0;
  private generation = 0;

  constructor(private readonly deps: TokenRefresherDeps) {}

  /** Schedules the refresh for a session whose token expires at `exp` (seconds); `iat` sizes short lifetimes. */
  arm(exp: number, iat?: number): void {
    this.disarm();
    this.exp = exp;
    this.armedAt = this.deps.now();
    const expMs = exp * 1000;
    const lifetime = iat !== undefined ? (exp - iat) * 1000 : expMs - this.armedAt;
    const lead = Math.min(this.deps.leadMs, Math.max(0, lifetime / 3));
    this.schedule(expMs - lead - this.armedAt);
  }

  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.exp = undefined;
    this.generation++;
  }

  /** A timer is pending (for tests and `close()` checks). */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  private schedule(delay: number): void {
    const wait = Math.max(0, delay);
    const generation = this.generation;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (wait > MAX_TIMER_MS) return this.schedule(delay - MAX_TIMER_MS);
      void this.fire(generation);
    }, Math.min(wait, MAX_TIMER_MS));
  }

  private async fire(generation: number): Promise<void> {
    const before = this.exp;
    let next: number | undefined;
    try {
      next = await this.deps.refresh();
    } catch (err) {
      this.deps.onError(err);
    }
    // Disarmed (disconnect, close) or re-armed while the refresh ran: that owner decides now.
    if (generation !== this.generation || before === undefined) return;
    if (next !== undefined && next > before) return this.arm(next);
    const remaining = before * 1000 - this.deps.now();
    if (remaining <= 0) {
      this.exp = undefined;
      return;
    }
    this.schedule(Math.max(1_000, Math.min(RETRY_MS, remaining / 2)));
  }
}
