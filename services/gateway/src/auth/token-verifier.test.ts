import { SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createTokenVerifier } from "./token-verifier.js";

const SECRET = "unit-test-secret-0123456789";
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const sign = (claims: Record<string, unknown>, opts: { alg?: string; exp?: number | null; sub?: string } = {}) => {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: opts.alg ?? "HS256" }).setSubject(opts.sub ?? "alice");
  if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? now() + 60);
  return jwt.sign(key);
};

describe("token verifier", () => {
  const verify = createTokenVerifier({ secret: SECRET });

  it("accepts a good token and takes the display name from `name`", async () => {
    await expect(verify(await sign({ name: " Alice " }))).resolves.toMatchObject({ userId: "alice", name: "Alice" });
    await expect(verify(await sign({}))).resolves.toMatchObject({ userId: "alice", name: "alice" });
  });

  it.each([
    ["no token", undefined, "AUTH_REQUIRED"],
    ["an empty token", "", "AUTH_REQUIRED"],
    ["a number", 42, "AUTH_REQUIRED"],
    ["garbage", "not.a.jwt", "AUTH_INVALID"],
  ])("refuses %s", async (_what, token, code) => {
    await expect(verify(token)).rejects.toMatchObject({ code });
  });

  it("refuses expired, exp-less, unsigned, foreign-algorithm and bad-sub tokens", async () => {
    await expect(verify(await sign({}, { exp: now() - 10 }))).rejects.toMatchObject({ code: "AUTH_EXPIRED" });
    await expect(verify(await sign({}, { exp: null }))).rejects.toMatchObject({ code: "AUTH_INVALID" });
    const unsigned = new UnsecuredJWT({}).setSubject("alice").setExpirationTime(now() + 60).encode();
    await expect(verify(unsigned)).rejects.toMatchObject({ code: "AUTH_INVALID" });
    await expect(verify(await sign({}, { alg: "HS512" }))).rejects.toMatchObject({ code: "AUTH_INVALID" });
    await expect(verify(await sign({}, { sub: "x".repeat(129) }))).rejects.toMatchObject({ code: "AUTH_INVALID" });
  });

  it("checks iss and aud when configured", async () => {
    const strict = createTokenVerifier({ secret: SECRET, issuer: "https://idp.example", audience: "parley" });
    await expect(strict(await sign({ iss: "https://idp.example", aud: "parley" }))).resolves.toMatchObject({ userId: "alice" });
    await expect(strict(await sign({ iss: "https://evil.example", aud: "parley" }))).rejects.toMatchObject({ code: "AUTH_INVALID" });
    await expect(strict(await sign({ iss: "https://idp.example", aud: "other" }))).rejects.toMatchObject({ code: "AUTH_INVALID" });
  });

  it("mends a name cut in the middle of an emoji", async () => {
    const name = `${"x".repeat(199)}😀`;
    const token = await verify(await sign({ name }));
    expect(token.name.isWellFormed()).toBe(true);
    expect(token.name.length).toBe(200);
  });

  it("needs a key", () => {
    expect(() => createTokenVerifier({})).toThrow(/no JWT key/);
  });
});
