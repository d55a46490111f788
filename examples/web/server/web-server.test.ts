import { createServer, type Server } from "node:http";
import { jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devRoutes } from "./dev-routes.js";
import { DEV_JWT_SECRET } from "./dev-token.js";
import { WebConfigError, loadWebConfig } from "./web-config.js";

describe("loadWebConfig", () => {
  it("refuses NODE_ENV=production: the token endpoint would sign anyone in", () => {
    expect(() => loadWebConfig([], { NODE_ENV: "production", JWT_SECRET: "a-secret-of-sixteen-chars" })).toThrow(WebConfigError);
  });

  it("defaults: port 8080, the two local gateways, the development secret", () => {
    const config = loadWebConfig([], {});
    expect(config).toMatchObject({ port: 8080, gateways: ["http://localhost:3000", "http://localhost:3001"] });
    expect(config.token.secret).toBe(DEV_JWT_SECRET);
  });

  it("takes the port and gateways from the command line and refuses a bad gateway URL", () => {
    expect(loadWebConfig(["--port", "9000", "--gateways", "http://a:1, http://b:2"], {})).toMatchObject({ port: 9000, gateways: ["http://a:1", "http://b:2"] });
    expect(() => loadWebConfig(["--gateways", "not a url"], {})).toThrow(WebConfigError);
  });
});

describe("devRoutes", () => {
  const secret = "web-test-secret-0123456789";
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const routes = devRoutes({ token: { secret, issuer: "parley-test", ttlSeconds: 600 }, gateways: ["http://127.0.0.1:3000"] });
    server = createServer((req, res) => routes(req, res, () => res.writeHead(404).end()));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("signs a token the gateways accept: HS256 with sub, name, iss and exp", async () => {
    const res = await fetch(`${base}/dev/token`, { method: "POST", body: JSON.stringify({ userId: "alice", name: "Alice" }) });
    expect(res.status).toBe(200);
    const { token, exp } = (await res.json()) as { token: string; exp: number };
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), { issuer: "parley-test", algorithms: ["HS256"] });
    expect(payload).toMatchObject({ sub: "alice", name: "Alice", exp });
    expect(exp - Date.now() / 1000).toBeGreaterThan(500);
  });

  it("answers a bad body 400 and another method 405", async () => {
    expect((await fetch(`${base}/dev/token`, { method: "POST", body: "{" })).status).toBe(400);
    expect((await fetch(`${base}/dev/token`, { method: "POST", body: JSON.stringify({ userId: "" }) })).status).toBe(400);
    expect((await fetch(`${base}/dev/token`)).status).toBe(405);
  });

  it("tells the page where the gateways are", async () => {
    expect(await (await fetch(`${base}/config.json`)).json()).toEqual({ gateways: ["http://127.0.0.1:3000"] });
  });
});
