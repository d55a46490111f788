import { createLocalJWKSet, createRemoteJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";

/**
 * The JWKS endpoint could not be read and the last good key set has no key for this token:
 * the token may be good, so the caller answers UNAVAILABLE (retry), never AUTH_INVALID.
 */
export class KeySetUnavailableError extends Error {
  override readonly name = "KeySetUnavailableError";
}

export interface RemoteKeySetOptions {
  url: string;
  /** Least time between two fetches an unknown `kid` may trigger; also how long an outage is assumed to last before the endpoint is tried again. */
  cooldownMs: number;
  /** Keys older than this are re-fetched before use (jose's cacheMaxAge). */
  cacheMaxAgeMs: number;
  /** One fetch's time-out: a handshake waits at most this for the endpoint. */
  fetchTimeoutMs: number;
  /** Told once per outage (its start) and once when the endpoint answers again. */
  onOutage?: (state: "down" | "up", err?: unknown) => void;
}

/**
 * Errors jose's remote set throws when the token names a key the (fresh) set does not hold or
 * cannot use: the token's fault, not the endpoint's.
 */
const keyErrors = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSENotSupported, errors.JOSEAlgNotAllowed];
const isKeyError = (err: unknown) => keyErrors.some((type) => err instanceof type);

/**
 * jose's remote JWKS, kept usable through an endpoint outage. jose drops nothing, but once its
 * keys are `cacheMaxAge` old it re-fetches before every verification and throws when the fetch
 * fails, so an outage longer than that would refuse every token. Here a failed fetch falls
 * back to the last key set jose fetched: a token signed by a known key still passes, and one
 * naming an unknown key is answered "unavailable" (it may be a key published during the outage).
 * Within `cooldownMs` of a failure the endpoint is not tried again, so an outage costs each
 * handshake no fetch time-out.
 */
export function createRemoteKeySet(opts: RemoteKeySetOptions): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(opts.url), {
    cooldownDuration: opts.cooldownMs,
    cacheMaxAge: opts.cacheMaxAgeMs,
    timeoutDuration: opts.fetchTimeoutMs,
  });
  let failedAt: number | undefined;
  let lastGood: { jwks: JSONWebKeySet; local: ReturnType<typeof createLocalJWKSet> } | undefined;

  const fromLastGood: JWTVerifyGetKey = async (header, token) => {
    const jwks = remote.jwks();
    if (!jwks) throw new KeySetUnavailableError("the JWKS endpoint is out of reach and no key set was ever fetched");
    if (lastGood?.jwks !== jwks) lastGood = { jwks, local: createLocalJWKSet(jwks) };
    try {
      return await lastGood.local(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) {
        throw new KeySetUnavailableError("the JWKS endpoint is out of reach and the last key set has no key for this token");
      }
      throw err;
    }
  };

  return async (header, token) => {
    if (failedAt !== undefined && Date.now() - failedAt < opts.cooldownMs) return fromLastGood(header, token);
    try {
      const key = await remote(header, token);
      if (failedAt !== undefined) opts.onOutage?.("up");
      failedAt = undefined;
      return key;
    } catch (err) {
      if (isKeyError(err)) {
        // The set answered (it was fresh or just re-fetched): the token names a key nobody published.
        if (failedAt !== undefined && remote.fresh) {
          opts.onOutage?.("up");
          failedAt = undefined;
        }
        throw err;
      }
      // A fetch that failed: refused, timed out, not 200, not a key set.
      if (failedAt === undefined) opts.onOutage?.("down", err);
      failedAt = Date.now();
      return fromLastGood(header, token);
    }
  };
}
