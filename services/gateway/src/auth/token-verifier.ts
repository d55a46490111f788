import { errors, jwtVerify, type JWTPayload } from "jose";
import { ParleyError, UserIdSchema, roleOfClaim, type AuthRefusalCode, type Role } from "@parley/protocol";
import { createRemoteKeySet, KeySetUnavailableError, type RemoteKeySetOptions } from "./remote-key-set.js";

export interface VerifiedToken {
  userId: string;
  /** The `name` claim, or the user id when absent. */
  name: string;
  /** Seconds since the epoch. */
  exp: number;
  /** The `parley_role` claim: "admin", "service", or "user" for anything else (auth/roles.ts). */
  role: Role;
}

export class AuthError extends Error {
  override readonly name = "AuthError";
  constructor(
    readonly code: AuthRefusalCode,
    message: string,
  ) {
    super(message);
  }
}

export interface TokenVerifierOptions {
  secret?: string | undefined;
  jwksUrl?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  algorithms?: readonly string[] | undefined;
  /**
   * Least time between two JWKS fetches triggered by an unknown `kid` (default 30 s): bounds
   * the fetches a flood of forged kids can cause. Tests of key rotation lower it.
   */
  jwksCooldownMs?: number | undefined;
  /** Keys older than this are re-fetched before use (default 10 min); tests of an outage lower it. */
  jwksCacheMaxAgeMs?: number | undefined;
  /** Seconds of clock skew allowed on `exp` and `nbf` (JWT_CLOCK_TOLERANCE_S; default 0 here, env.ts sets the deployment's). */
  clockToleranceS?: number | undefined;
  /** Told when the JWKS endpoint stops and starts answering (server.ts logs it). */
  onJwksOutage?: RemoteKeySetOptions["onOutage"];
}

export type TokenVerifier = (token: unknown) => Promise<VerifiedToken>;

/**
 * Verifies bearer tokens with jose against the configured key (HS256 secret or a JWKS URL,
 * which jose caches and re-fetches when it meets an unknown `kid`, so rotations need no
 * restart; remote-key-set.ts keeps the last good keys through an endpoint outage). Only the
 * configured algorithms pass; `exp` is required. Throws AuthError for a token that is bad,
 * and ParleyError UNAVAILABLE when the keys to judge it are out of reach (the client retries).
 */
export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  const algorithms = [...(opts.algorithms ?? (opts.jwksUrl ? ["RS256", "ES256", "EdDSA"] : ["HS256"]))];
  const key = opts.jwksUrl
    ? createRemoteKeySet({
        url: opts.jwksUrl,
        cooldownMs: opts.jwksCooldownMs ?? 30_000,
        cacheMaxAgeMs: opts.jwksCacheMaxAgeMs ?? 10 * 60_000,
        // A handshake waits at most this for the endpoint (jose's default is 5 s).
        fetchTimeoutMs: 2_000,
        onOutage: opts.onJwksOutage,
      })
    : opts.secret
      ? new TextEncoder().encode(opts.secret)
      : undefined;
  if (!key) throw new Error("no JWT key configured (JWT_SECRET or JWT_JWKS_URL)");

  return async (token) => {
    if (typeof token !== "string" || token.length === 0) throw new AuthError("AUTH_REQUIRED", "a token is required");
    let payload: JWTPayload;
    try {
      const verified = await (typeof key === "function"
        ? jwtVerify(token, key, verifyOptions(opts, algorithms))
        : jwtVerify(token, key, verifyOptions(opts, algorithms)));
      payload = verified.payload;
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new AuthError("AUTH_EXPIRED", "the token has expired");
      if (err instanceof KeySetUnavailableError) throw new ParleyError("UNAVAILABLE", "the signing keys are out of reach; retry later");
      const reason = err instanceof Error ? err.message : "unreadable token";
      throw new AuthError("AUTH_INVALID", `invalid token: ${reason}`);
    }
    if (typeof payload.exp !== "number") throw new AuthError("AUTH_INVALID", "invalid token: exp is required");
    const sub = UserIdSchema.safeParse(payload.sub);
    if (!sub.success) throw new AuthError("AUTH_INVALID", "invalid token: sub must be 1..128 characters");
    // Cut to 200 UTF-16 units, then mend an emoji the cut may have split (a lone surrogate
    // would make every message of this sender unstorable).
    const name =
      typeof payload.name === "string" && payload.name.trim().length > 0 ? payload.name.trim().slice(0, 200).toWellFormed() : sub.data;
    return { userId: sub.data, name, exp: payload.exp, role: roleOfClaim(payload.parley_role) };
  };
}

function verifyOptions(opts: TokenVerifierOptions, algorithms: string[]) {
  return {
    algorithms,
    requiredClaims: ["exp", "sub"],
    clockTolerance: opts.clockToleranceS ?? 0,
    ...(opts.issuer ? { issuer: opts.issuer } : {}),
    ...(opts.audience ? { audience: opts.audience } : {}),
  };
}
