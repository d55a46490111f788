import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWK } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { createTokenVerifier } from "./token-verifier.js";

const SECRET = "unit-test-secret-0123456789";
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const sign = (claims: Record<string, unknown>, opts: { alg?: string; exp?: number | null; sub?: string; nbf?: number } = {}) => {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: opts.alg ?? "HS256" }).setSubject(opts.sub ?? "alice");
  if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? now() + 60);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(key);
};

describe("token verifier", () => {
  const verify = createTokenVerifier({ secret: SECRET });

  it("accepts a good token and takes the display name from `name`", async () => {
    await expect(verify(await sign({ name: " Alice " }))).resolves.toMatchObject({ userId: "alice", name: "Alice" });
    await expect(verify(await sign({}))).resolves.toMatchObject({ userId: "alice", name: "alice" });
  });

  it("reads the parley_role claim: admin and service are roles, anything else an ordinary user", async () => {
    await expect(verify(await sign({ parley_role: "admin" }))).resolves.toMatchObject({ role: "admin" });
    await expect(verify(await sign({ parley_role: "service" }))).resolves.toMatchObject({ role: "service" });
    for (const claim of [undefined, "Admin", "root", "", 1, ["admin"], { admin: true }]) {
      await expect(verify(await sign(claim === undefined ? {} : { parley_role: claim }))).resolves.toMatchObject({ role: "user" });
    }
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

describe("clock tolerance", () => {
  it("accepts a token a few seconds past exp or before nbf within the tolerance, and not beyond it", async () => {
    const tolerant = createTokenVerifier({ secret: SECRET, clockToleranceS: 5 });
    const strict = createTokenVerifier({ secret: SECRET, clockToleranceS: 0 });
    const justExpired = await sign({}, { exp: now() - 2 });
    const issuerAhead = await sign({}, { nbf: now() + 2 });
    await expect(tolerant(justExpired)).resolves.toMatchObject({ userId: "alice" });
    await expect(tolerant(issuerAhead)).resolves.toMatchObject({ userId: "alice" });
    await expect(strict(justExpired)).rejects.toMatchObject({ code: "AUTH_EXPIRED" });
    await expect(strict(issuerAhead)).rejects.toMatchObject({ code: "AUTH_INVALID" });
    await expect(tolerant(await sign({}, { exp: now() - 30 }))).rejects.toMatchObject({ code: "AUTH_EXPIRED" });
  });
});

/** A real JWKS endpoint on loopback that can be stopped and started again on the same port. */
class JwksServer {
  keys: JWK[] = [];
  fetches = 0;
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      this.fetches++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/.well-known/jwks.json`;
  }
}

const newKey = async (kid: string) => {
  const pair = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "ES256", use: "sig" };
  const signWith = (sub: string) =>
    new SignJWT({}).setProtectedHeader({ alg: "ES256", kid }).setSubject(sub).setExpirationTime(now() + 600).sign(pair.privateKey);
  return { jwk, sign: signWith };
};

describe("keys from a JWKS endpoint that goes away", () => {
  const jwks = new JwksServer();
  afterEach(() => jwks.stop());
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("keeps verifying with the last key set once it is stale; an unknown key is UNAVAILABLE, not AUTH_INVALID; back to normal when the endpoint returns", async () => {
    await jwks.start();
    const k1 = await newKey("k1");
    jwks.keys = [k1.jwk];
    const outages: string[] = [];
    // Keys go stale after 100 ms (10 min in production): every verification below is past that.
    const verify = createTokenVerifier({ jwksUrl: jwks.url, jwksCooldownMs: 200, jwksCacheMaxAgeMs: 100, onJwksOutage: (state) => outages.push(state) });
    await expect(verify(await k1.sign("rita"))).resolves.toMatchObject({ userId: "rita" });

    await jwks.stop();
    await sleep(150); // the cached set is now older than its max age
    await expect(verify(await k1.sign("rita"))).resolves.toMatchObject({ userId: "rita" });
    const k2 = await newKey("k2");
    await expect(verify(await k2.sign("rita"))).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(outages).toEqual(["down"]);

    // Past the cooldown the endpoint is tried again: still down, still the last keys.
    await sleep(250);
    await expect(verify(await k1.sign("rita"))).resolves.toMatchObject({ userId: "rita" });
    await expect(verify(await k2.sign("rita"))).rejects.toMatchObject({ code: "UNAVAILABLE" });

    // Back, with k2 published: k2 passes once the cooldown since the failure has run out.
    jwks.keys = [k1.jwk, k2.jwk];
    await jwks.start();
    await sleep(250);
    await expect(verify(await k2.sign("rita"))).resolves.toMatchObject({ userId: "rita" });
    expect(outages).toEqual(["down", "up"]);
    // With the endpoint answering, a key nobody published is a bad token again.
    const rogue = await newKey("rogue");
    await sleep(250);
    await expect(verify(await rogue.sign("rita"))).rejects.toMatchObject({ code: "AUTH_INVALID" });
  });

  it("answers UNAVAILABLE when the endpoint has never answered, and does not fetch again within the cooldown", async () => {
    await jwks.start();
    const url = jwks.url;
    await jwks.stop();
    const verify = createTokenVerifier({ jwksUrl: url, jwksCooldownMs: 60_000 });
    const k1 = await newKey("k1");
    await expect(verify(await k1.sign("rita"))).rejects.toMatchObject({ code: "UNAVAILABLE" });
    // The endpoint is back, but a failure 60 s ago is still "down": no handshake waits for a fetch.
    jwks.keys = [k1.jwk];
    await jwks.start();
    const before = jwks.fetches;
    await expect(verify(await k1.sign("rita"))).rejects.toMatchObject({ code: "UNAVAILABLE" });
    expect(jwks.fetches).toBe(before);
  });

  it("refuses a token signed with an unpublished key as AUTH_INVALID while the endpoint answers", async () => {
    await jwks.start();
    const k1 = await newKey("k1");
    jwks.keys = [k1.jwk];
    const verify = createTokenVerifier({ jwksUrl: jwks.url, jwksCooldownMs: 0 });
    await expect(verify(await k1.sign("rita"))).resolves.toMatchObject({ userId: "rita" });
    await expect(verify(await (await newKey("rogue")).sign("rita"))).rejects.toMatchObject({ code: "AUTH_INVALID" });
  });
});
