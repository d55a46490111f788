import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-parley-signature";
export const TIMESTAMP_HEADER = "x-parley-timestamp";
export const DELIVERY_HEADER = "x-parley-delivery";
/** How old a signed request may be before a receiver should refuse it as a replay. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * `v1=` + hex HMAC-SHA256 over `${timestamp}.${rawBody}`. The timestamp is inside the MAC, so
 * a replayed request cannot be given a fresh one: receivers refuse old timestamps.
 */
export function signWebhook(secret: string, timestampSeconds: number, rawBody: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestampSeconds}.${rawBody}`).digest("hex")}`;
}

export type VerifyResult = { ok: true } | { ok: false; reason: "malformed" | "bad_signature" | "too_old" | "in_the_future" };

/** What a receiver does (docs/notifications.md shows the same in a standalone sample). */
export function verifyWebhook(input: {
  secret: string;
  rawBody: string;
  timestamp: string | undefined;
  signature: string | undefined;
  nowSeconds?: number;
  toleranceSeconds?: number;
}): VerifyResult {
  const ts = Number(input.timestamp);
  if (!input.timestamp || !Number.isInteger(ts) || !input.signature) return { ok: false, reason: "malformed" };
  const expected = Buffer.from(signWebhook(input.secret, ts, input.rawBody));
  const given = Buffer.from(input.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "bad_signature" };
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (now - ts > tolerance) return { ok: false, reason: "too_old" };
  if (ts - now > tolerance) return { ok: false, reason: "in_the_future" };
  return { ok: true };
}
