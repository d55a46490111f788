import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signWebhook, verifyWebhook } from "./webhook-signature.js";

describe("webhook signature", () => {
  const secret = "a-secret-of-some-length";
  const body = '{"type":"conversation.unread"}';

  it("is v1= hex HMAC-SHA256 over `${timestamp}.${body}` (what receivers recompute)", () => {
    const expected = createHmac("sha256", secret).update(`1700000000.${body}`).digest("hex");
    expect(signWebhook(secret, 1_700_000_000, body)).toBe(`v1=${expected}`);
  });

  it("verifies within the tolerance and refuses another secret, another body, old and future timestamps", () => {
    const signature = signWebhook(secret, 1_700_000_000, body);
    const base = { secret, rawBody: body, timestamp: "1700000000", signature, nowSeconds: 1_700_000_100 };
    expect(verifyWebhook(base)).toEqual({ ok: true });
    expect(verifyWebhook({ ...base, secret: "another-secret-entirely" })).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifyWebhook({ ...base, rawBody: `${body} ` })).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifyWebhook({ ...base, nowSeconds: 1_700_000_301 })).toEqual({ ok: false, reason: "too_old" });
    expect(verifyWebhook({ ...base, nowSeconds: 1_699_999_000 })).toEqual({ ok: false, reason: "in_the_future" });
    expect(verifyWebhook({ ...base, signature: "v1=00" })).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifyWebhook({ ...base, timestamp: "yesterday" })).toEqual({ ok: false, reason: "malformed" });
  });
});
