import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, type ConnectionState } from "@parley/client";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "./cluster.js";
import { until } from "./client-helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A real JWKS endpoint on loopback, stopped and started again on the same port. */
let keys: JWK[] = [];
let server: Server | undefined;
let port = 0;
async function startJwks(): Promise<void> {
  server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys })));
  await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
}
async function stopJwks(): Promise<void> {
  const s = server;
  server = undefined;
  s?.closeAllConnections();
  await new Promise((resolve) => (s ? s.close(resolve) : resolve(undefined)));
}

const newKey = async (kid: string) => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" };
  const sign = (sub: string) =>
    new SignJWT({}).setProtectedHeader({ alg: "RS256", kid }).setSubject(sub).setExpirationTime(nowSeconds() + 600).sign(pair.privateKey);
  return { jwk, sign };
};

let cluster: Cluster;
beforeAll(async () => {
  await startJwks();
  cluster = await startCluster({
    gateways: 1,
    // Keys are stale after 100 ms here (10 minutes in production), so the outage below outlasts them.
    verifier: { jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`, jwksCooldownMs: 200, jwksCacheMaxAgeMs: 100 },
  });
});
afterAll(async () => {
  await cluster?.stop();
  await stopJwks();
});

describe("a JWKS endpoint outage longer than the key cache", () => {
  it("keeps known keys working, answers unknown ones UNAVAILABLE (socket and HTTP), and the SDK keeps retrying until the key is published", async () => {
    const k1 = await newKey("k1");
    keys = [k1.jwk];
    (await cluster.connect(0, await k1.sign("olga"))).disconnect();

    await stopJwks();
    await sleep(150);
    // The last good key set still verifies k1's tokens.
    const s = await cluster.connect(0, await k1.sign("olga"));
    expect(s.connected).toBe(true);
    s.disconnect();
    expect((await cluster.http(0, "GET", "/v1/conversations", { token: await k1.sign("olga") })).status).toBe(200);

    // k2 may have been published during the outage: not a bad token, a retry.
    const k2 = await newKey("k2");
    const refusal = await cluster.connect(0, await k2.sign("olga")).then(
      () => undefined,
      (err: Error & { data?: { code?: string } }) => ({ message: err.message, code: err.data?.code }),
    );
    expect(refusal).toEqual({ message: "unavailable", code: "UNAVAILABLE" });
    const http = await cluster.http(0, "GET", "/v1/conversations", { token: await k2.sign("olga") });
    expect([http.status, http.body?.error?.code]).toEqual([503, "UNAVAILABLE"]);

    // The SDK, given k2 tokens, keeps trying (never "unauthorized") and gets in once the endpoint is back with k2.
    const states: ConnectionState[] = [];
    const client = createClient({ url: cluster.url(0), getToken: () => k2.sign("olga"), reconnect: { baseMs: 100, maxMs: 300 } });
    client.on("state", (change) => states.push(change.current));
    try {
      await until(() => states.filter((x) => x === "offline").length >= 3, "three refused attempts", 10_000);
      expect(states).not.toContain("unauthorized");
      keys = [k1.jwk, k2.jwk];
      await startJwks();
      await until(() => client.state === "online", "the client online once k2 is published", 10_000);
      expect(states).not.toContain("unauthorized");
    } finally {
      await client.close();
    }
  });
});
