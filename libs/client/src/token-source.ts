import { readClaims, type TokenClaims } from "./jwt-claims.js";

/** A token closer than this to its `exp` is not used for a new handshake: fetch a fresh one. */
const STALE_MARGIN_MS = 5_000;

/**
 * Holds the current token and asks the app's provider for a new one when there is none, when
 * it is about to expire, or when the server said it expired. Concurrent askers share one call.
 */
export class TokenSource {
  private token: string | undefined;
  private current: TokenClaims | undefined;
  private inFlight: Promise<string | null> | undefined;

  constructor(
    private readonly provider: () => Promise<string | null> | string | null,
    private readonly now: () => number,
  ) {}

  /** The last token's claims (kept after `invalidate`, so the user stays known). */
  get claims(): TokenClaims | undefined {
    return this.current;
  }

  /** A usable token, or null when the provider says the user is signed out. Throws what the provider throws. */
  async get(options: { fresh?: boolean } = {}): Promise<string | null> {
    const exp = this.current?.exp;
    const usable = this.token !== undefined && (exp === undefined || exp * 1000 - this.now() > STALE_MARGIN_MS);
    if (!options.fresh && usable) return this.token!;
    this.inFlight ??= (async () => {
      try {
        const token = await this.provider();
        this.token = token ?? undefined;
        if (token) this.current = readClaims(token) ?? this.current;
        return token ?? null;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }

  /** Forget the token (the server refused it or expired the session); the next `get` asks the provider. */
  invalidate(): void {
    this.token = undefined;
  }
}
