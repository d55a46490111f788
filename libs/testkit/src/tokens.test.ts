import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import {
  MALFORMED_TOKENS,
  expiredToken,
  signToken,
  tamperedToken,
  tokenWithWrongSecret,
  tokenWithoutExp,
  unsignedToken,
} from "./tokens.js";

const secret = "test-secret";
const key = new TextEncoder().encode(secret);

describe("tokens", () => {
  it("signs HS256 with sub, name, exp", async () => {
    const token = await signToken({ sub: "alice", name: "Alice", secret, expiresInSeconds: 60, iss: "i", aud: "a" });
    const { payload, protectedHeader } = await jwtVerify(token, key, { issuer: "i", audience: "a" });
    expect(protectedHeader.alg).toBe("HS256");
    expect(payload.sub).toBe("alice");
    expect(payload.name).toBe("Alice");
    expect(payload.exp! - Math.floor(Date.now() / 1000)).toBeGreaterThan(50);
  });

  it("makes tokens a server must refuse", async () => {
    await expect(jwtVerify(await expiredToken({ sub: "a", secret }), key)).rejects.toBeInstanceOf(errors.JWTExpired);
    expect(decodeJwt(await tokenWithoutExp({ sub: "a", secret })).exp).toBeUndefined();
    await expect(jwtVerify(await tokenWithWrongSecret({ sub: "a", secret }), key)).rejects.toThrow();
    await expect(jwtVerify(tamperedToken(await signToken({ sub: "a", secret })), key)).rejects.toThrow();
    expect(decodeProtectedHeader(unsignedToken({ sub: "a" })).alg).toBe("none");
    for (const token of MALFORMED_TOKENS) await expect(jwtVerify(token, key)).rejects.toThrow();
  });
});
