import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { io as connectClient } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expiredToken,
  MALFORMED_TOKENS,
  signToken,
  tamperedToken,
  tokenWithoutExp,
  tokenWithWrongSecret,
  unsignedToken,
} from "@parley/testkit";
import { SECRET, startCluster, type Cluster } from "./cluster.js";

/** The handshake refusal a client sees: `connect_error` with `message` and `data.code`. */
async function refusal(connecting: Promise<unknown>): Promise<{ message: string; code: string | undefined }> {
  try {
    await connecting;
  } catch (err) {
    const e = err as Error & { data?: { code?: string } };
    return { message: e.message, code: e.data?.code };
  }
  throw new Error("the handshake was accepted");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowSeconds = () => Math.floor(Date.now() / 1000);

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ gateways: 2 });
});
afterAll(async () => {
  await cluster?.stop();
});

describe("socket handshake refusals", () => {
  it("answers AUTH_REQUIRED without a token or with an empty one", async () => {
    for (const token of [undefined, ""]) {
      expect(await refusal(cluster.connect(0, token))).toEqual({ message: "unauthorized", code: "AUTH_REQUIRED" });
    }
  });

  it("answers AUTH_INVALID for every malformed, forged or unsigned token", async () => {
    const good = await cluster.token("mallory");
    const bad = [
      ...MALFORMED_TOKENS,
      await tokenWithWrongSecret({ sub: "mallory", secret: SECRET }),
      tamperedToken(good),
      unsignedToken({ sub: "mallory" }),
      await tokenWithoutExp({ sub: "mallory", secret: SECRET }),
      // Right secret, but an algorithm the gateway is not configured for.
      await signToken({ sub: "mallory", secret: SECRET, alg: "HS512" }),
      // A sub the contract does not allow (over 128 characters).
      await signToken({ sub: "u".repeat(129), secret: SECRET }),
    ];
    const answers = await Promise.all(bad.map((token, i) => refusal(cluster.connect(i % 2, token))));
    for (const answer of answers) expect(answer).toEqual({ message: "unauthorized", code: "AUTH_INVALID" });
  });

  it("answers AUTH_EXPIRED for an expired token", async () => {
    const token = await expiredToken({ sub: "late", secret: SECRET });
    expect(await refusal(cluster.connect(1, token))).toEqual({ message: "unauthorized", code: "AUTH_EXPIRED" });
  });

  it("refuses a token that is not a string without crashing", async () => {
    // The client library sends whatever `auth` holds; a number or an object is no token.
    for (const token of [42, { sub: "x" }]) {
      const answer = await refusal(cluster.connect(0, token as unknown as string));
      expect(answer.message).toBe("unauthorized");
      expect(["AUTH_REQUIRED", "AUTH_INVALID"]).toContain(answer.code);
    }
  });
});

describe("issuer and audience, when configured", () => {
  let strict: Cluster;
  beforeAll(async () => {
    strict = await startCluster({ gateways: 1, verifier: { secret: SECRET, issuer: "https://idp.example", audience: "parley" } });
  });
  afterAll(async () => {
    await strict?.stop();
  });

  it("accepts the right iss and aud and refuses a wrong or missing one", async () => {
    const sign = (claims: { iss?: string; aud?: string }) => signToken({ sub: "ivy", secret: SECRET, ...claims });
    const ok = await strict.connect(0, await sign({ iss: "https://idp.example", aud: "parley" }));
    expect(ok.connected).toBe(true);
    for (const claims of [
      { iss: "https://evil.example", aud: "parley" },
      { iss: "https://idp.example", aud: "other-app" },
      { aud: "parley" },
      { iss: "https://idp.example" },
    ]) {
      expect(await refusal(strict.connect(0, await sign(claims)))).toEqual({ message: "unauthorized", code: "AUTH_INVALID" });
    }
    const http = await strict.http(0, "GET", "/v1/conversations", { token: await sign({ iss: "https://evil.example", aud: "parley" }) });
    expect(http.status).toBe(401);
  });
});

describe("keys from a JWKS URL", () => {
  let jwksCluster: Cluster;
  let server: Server;
  let keys: JWK[] = [];
  let fetches = 0;

  const newKey = async (kid: string) => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" };
    const sign = (sub: string, exp = nowSeconds() + 600) =>
      new SignJWT({}).setProtectedHeader({ alg: "RS256", kid }).setSubject(sub).setIssuedAt().setExpirationTime(exp).sign(pair.privateKey);
    return { jwk, sign };
  };

  beforeAll(async () => {
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    jwksCluster = await startCluster({
      gateways: 1,
      verifier: { jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`, jwksCooldownMs: 200 },
    });
  });
  afterAll(async () => {
    await jwksCluster?.stop();
    await new Promise((r) => server?.close(r));
  });

  it("verifies RS256 tokens, refuses HS256 ones, and follows a key rotation without a restart", async () => {
    const first = await newKey("k1");
    keys = [first.jwk];
    const s1 = await jwksCluster.connect(0, await first.sign("rita"));
    expect(s1.connected).toBe(true);
    const http = await jwksCluster.http(0, "GET", "/v1/conversations", { token: await first.sign("rita") });
    expect(http.status).toBe(200);

    // An HMAC token is not an algorithm this deployment accepts, whatever its secret.
    expect(await refusal(jwksCluster.connect(0, await signToken({ sub: "rita", secret: SECRET })))).toEqual({
      message: "unauthorized",
      code: "AUTH_INVALID",
    });
    expect(await refusal(jwksCluster.connect(0, await first.sign("rita", nowSeconds() - 60)))).toEqual({
      message: "unauthorized",
      code: "AUTH_EXPIRED",
    });

    // Rotation: the identity provider publishes k2 and signs with it; the cached set lacks k2.
    const second = await newKey("k2");
    keys = [first.jwk, second.jwk];
    await sleep(300); // past the cooldown since the last fetch
    const before = fetches;
    const s2 = await jwksCluster.connect(0, await second.sign("rita"));
    expect(s2.connected).toBe(true);
    expect(fetches).toBeGreaterThan(before);

    // A kid nobody published is refused.
    const rogue = await newKey("k-rogue");
    expect((await refusal(jwksCluster.connect(0, await rogue.sign("rita")))).code).toBe("AUTH_INVALID");
  });
});

describe("the session's expiry", () => {
  it("emits session:expired and disconnects when the token runs out, unless auth:refresh extended it", async () => {
    const exp = nowSeconds() + 2;
    const [plain, refreshed] = await Promise.all([
      cluster.connect(0, await signToken({ sub: "tess", secret: SECRET, exp })),
      cluster.connect(1, await signToken({ sub: "tess", secret: SECRET, exp })),
    ]);
    const expired: string[] = [];
    const disconnected: string[] = [];
    plain.on("session:expired", () => expired.push("plain"));
    refreshed.on("session:expired", () => expired.push("refreshed"));
    plain.on("disconnect", () => disconnected.push("plain"));
    refreshed.on("disconnect", () => disconnected.push("refreshed"));

    const fresh = await signToken({ sub: "tess", secret: SECRET, expiresInSeconds: 600 });
    const ack = await refreshed.emitWithAck("auth:refresh", { token: fresh });
    expect(ack).toEqual({ ok: true, exp: expect.any(Number) });
    if (ack.ok) expect(ack.exp).toBeGreaterThan(exp);

    // Another user's token, garbage, or an expired token never extend a session.
    const refusals = await Promise.all([
      refreshed.emitWithAck("auth:refresh", { token: await signToken({ sub: "someone-else", secret: SECRET }) }),
      refreshed.emitWithAck("auth:refresh", { token: "garbage" }),
      refreshed.emitWithAck("auth:refresh", { token: await expiredToken({ sub: "tess", secret: SECRET }) }),
      plain.emitWithAck("auth:refresh", { token: await signToken({ sub: "someone-else", secret: SECRET, expiresInSeconds: 600 }) }),
    ]);
    for (const r of refusals) expect(r).toEqual({ ok: false, error: { code: "UNAUTHORIZED", message: expect.any(String) } });

    // Past exp, but within JWT_CLOCK_TOLERANCE_S (5 s, what the verifier also allows): still on.
    await sleep(exp * 1000 - Date.now() + 1_000);
    expect(expired).toEqual([]);
    await sleep((exp + 5) * 1000 - Date.now() + 1_000);
    expect(expired).toEqual(["plain"]);
    expect(disconnected).toEqual(["plain"]);
    expect(plain.connected).toBe(false);
    expect(refreshed.connected).toBe(true);
    const pong = await refreshed.emitWithAck("sync", { limit: 1 });
    expect(pong.ok).toBe(true);
  });
});

describe("the origin allow-list", () => {
  let locked: Cluster;
  beforeAll(async () => {
    locked = await startCluster({ gateways: 1, gatewayEnv: { CORS_ORIGINS: "https://app.example" } });
  });
  afterAll(async () => {
    await locked?.stop();
  });

  it("refuses a browser Origin outside CORS_ORIGINS at the handshake; allows the listed one and none", async () => {
    const token = await locked.token("olga");
    await expect(locked.connect(0, token, { extraHeaders: { origin: "https://evil.example" } })).rejects.toThrow();
    const allowed = await locked.connect(0, token, { extraHeaders: { origin: "https://app.example" } });
    expect(allowed.connected).toBe(true);
    const noOrigin = await locked.connect(0, token);
    expect(noOrigin.connected).toBe(true);

    // Long-polling (behind sticky load balancers) is held to the same list.
    const polling = (origin: string) =>
      new Promise<string>((resolve) => {
        const socket = connectClient(locked.url(0), { auth: { token }, transports: ["polling"], reconnection: false, forceNew: true, extraHeaders: { origin } });
        socket.once("session:ready", () => (socket.disconnect(), resolve("ready")));
        socket.once("connect_error", () => (socket.disconnect(), resolve("refused")));
      });
    expect(await polling("https://evil.example")).toBe("refused");
    expect(await polling("https://app.example")).toBe("ready");
  });
});

describe("HTTP bearer tokens", () => {
  it("answers 401 UNAUTHORIZED for a missing, malformed, forged or expired bearer", async () => {
    const cases: (Record<string, string> | undefined)[] = [
      undefined,
      { authorization: "Bearer" },
      { authorization: "Bearer " },
      { authorization: "Bearer not-a-jwt" },
      { authorization: `Basic ${Buffer.from("u:p").toString("base64")}` },
      { authorization: `Bearer ${await tokenWithWrongSecret({ sub: "h", secret: SECRET })}` },
      { authorization: `Bearer ${await expiredToken({ sub: "h", secret: SECRET })}` },
      { authorization: `Bearer ${unsignedToken({ sub: "h" })}` },
      { authorization: `Bearer ${await tokenWithoutExp({ sub: "h", secret: SECRET })}` },
    ];
    for (const headers of cases) {
      for (const [method, path] of [
        ["GET", "/v1/conversations"],
        ["POST", `/v1/conversations/${randomUUID()}/messages`],
      ] as const) {
        const res = await fetch(`${cluster.url(0)}${path}`, {
          method,
          headers: { ...headers, ...(method === "POST" ? { "content-type": "application/json" } : {}) },
          ...(method === "POST" ? { body: JSON.stringify({ clientMessageId: randomUUID(), body: "x" }) } : {}),
        });
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ error: { code: "UNAUTHORIZED", message: expect.any(String) } });
      }
    }
  });
});

describe("after every refusal", () => {
  it("the gateways still accept a valid client, which can send", async () => {
    const alice = await cluster.token("survivor", "Survivor");
    const conversation = await cluster.createConversation(alice, ["witness"]);
    for (const i of [0, 1]) {
      const socket = await cluster.connect(i, alice);
      const ack = await socket.emitWithAck("message:send", { conversationId: conversation.id, clientMessageId: randomUUID(), body: `still here ${i}` });
      expect(ack).toMatchObject({ ok: true, message: { senderId: "survivor", seq: i + 1 } });
    }
    const health = await cluster.http(1, "GET", "/healthz");
    expect(health.status).toBe(200);
  });
});
