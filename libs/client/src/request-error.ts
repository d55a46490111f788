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
  // v1.1: refused by moderation; the same message is refused again.
  "REJECTED",
]);
