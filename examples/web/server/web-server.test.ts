import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jwtVerify } from "jose";
import { DEV_JWT_SECRET } from "@parley/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devRoutes } from "./dev-routes.js";
import { staticFiles } from "./static-files.js";
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

  it("signs an admin token only when asked: role admin adds parley_role, no role adds nothing", async () => {
    const claims = async (body: unknown) => {
      const { token } = (await (await fetch(`${base}/dev/token`, { method: "POST", body: JSON.stringify(body) })).json()) as { token: string };
      return (await jwtVerify(token, new TextEncoder().encode(secret), { issuer: "parley-test", algorithms: ["HS256"] })).payload;
    };
    expect(await claims({ userId: "mod", role: "admin" })).toMatchObject({ sub: "mod", parley_role: "admin" });
    expect(await claims({ userId: "alice" })).not.toHaveProperty("parley_role");
    // Only "admin": a service token (system messages to any conversation) is not on offer here.
    expect((await fetch(`${base}/dev/token`, { method: "POST", body: JSON.stringify({ userId: "bot", role: "service" }) })).status).toBe(400);
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

describe("staticFiles", () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), "parley-web-"));
    mkdirSync(join(root, "assets"));
    writeFileSync(join(root, "index.html"), "<!doctype html><title>app</title>");
    writeFileSync(join(root, "assets", "app-1234.js"), "export {};");
    const serve = staticFiles(root);
    server = createServer((req, res) => serve(req, res, () => res.writeHead(405).end()));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // fetch() normalises `..` away, so the raw request line is sent with node:http.
  const rawGet = (path: string) =>
    new Promise<number>((resolve, reject) => {
      request(`${base}${path}`, { method: "GET", path }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on("error", reject)
        .end();
    });

  it("serves files, hashed assets as immutable, and index.html for a deep link", async () => {
    const asset = await fetch(`${base}/assets/app-1234.js`);
    expect(asset.headers.get("content-type")).toContain("text/javascript");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    const deep = await fetch(`${base}/some/conversation`);
    expect(await deep.text()).toContain("<title>app</title>");
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
  });

  it("never leaves the root, and refuses a malformed escape", async () => {
    expect(await rawGet("/../../etc/passwd")).toBe(400);
    expect(await rawGet("/%2e%2e/%2e%2e/etc/passwd")).toBe(400);
    expect(await rawGet("/%E0%A4%A")).toBe(400);
  });
});
