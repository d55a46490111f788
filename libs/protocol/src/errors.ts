import { z } from "zod";

/**
 * The contract's error codes and the one place they map to HTTP statuses.
 * Acks carry the code; HTTP answers carry the code and this status.
 */
export const ERROR_STATUS = {
  VALIDATION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  /** v1.1: the content was refused by moderation (MODERATION_WEBHOOK_URL); nothing was stored. */
  REJECTED: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ErrorCodeSchema = z.enum(
  Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]],
);

export const ErrorBodySchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  retryAfterMs: z.number().int().nonnegative().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Codes a socket handshake is refused with (`connect_error.data.code`). */
export const AUTH_REFUSAL_CODES = ["AUTH_REQUIRED", "AUTH_INVALID", "AUTH_EXPIRED", "AUTH_BANNED"] as const;
export type AuthRefusalCode = (typeof AUTH_REFUSAL_CODES)[number];

/**
 * A handshake over a cap on sockets (a user's across the cluster, or one client address's on
 * a pod): `connect_error` with `message: "too many sockets"` and `data: { code, message }`.
 * Not an authentication failure: clients retry with backoff, as after `"unavailable"`.
 */
export const SOCKET_CAP_REFUSAL_CODE = "TOO_MANY_SOCKETS";

/** A failure that maps onto the contract: thrown inside services, answered at the edge. */
export class ParleyError extends Error {
  override readonly name = "ParleyError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toBody(): ErrorBody {
    return this.retryAfterMs === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfterMs: this.retryAfterMs };
  }
}

export function isParleyError(err: unknown): err is ParleyError {
  return err instanceof ParleyError;
}
