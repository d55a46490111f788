import type { ErrorBody, ErrorCode } from "@parley/protocol";

/** A refused request (`{ ok: false, error }`), thrown by the client's promise-returning methods. */
export class ParleyRequestError extends Error {
  override readonly name = "ParleyRequestError";
  readonly code: ErrorCode;
  readonly retryAfterMs?: number;
  constructor(error: ErrorBody) {
    super(error.message);
    this.code = error.code;
    if (error.retryAfterMs !== undefined) this.retryAfterMs = error.retryAfterMs;
  }
}

/** Refusals a retry cannot change: the outbox marks the message `failed` with the reason. */
export const PERMANENT_SEND_ERRORS: ReadonlySet<ErrorCode> = new Set([
  "VALIDATION",
  "FORBIDDEN",
  "CONFLICT",
  "PAYLOAD_TOO_LARGE",
  "NOT_FOUND",
]);

/**
 * Refusals that the same request can get past later: the server was away or overloaded
 * (`UNAVAILABLE`, `INTERNAL`), asked to slow down (`RATE_LIMITED`, with `retryAfterMs`), or
 * the token had lapsed (`UNAUTHORIZED`: the SDK fetches a fresh one). The outbox retries
 * these by itself; everything else is an answer on the request itself.
 */
const RETRYABLE: ReadonlySet<string> = new Set(["UNAVAILABLE", "RATE_LIMITED", "INTERNAL", "UNAUTHORIZED"]);

/**
 * Whether retrying can succeed: for a `ParleyRequestError`, an `ErrorBody` (`{ code }`), or
 * a failed `OutgoingMessage`'s `error`. Anything without a contract code (a bug, a thrown
 * TypeError) is not: retrying would fail the same way. Wait at least `retryAfterMs` when it is set.
 */
export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" && RETRYABLE.has(code);
}
