import { afterAll, beforeAll, expect, it } from "vitest";
import { startCluster, type Cluster } from "./cluster.js";

// The web chat runs on another origin than the gateways: its HTTP calls need CORS, with
// the same CORS_ORIGINS as the Socket.IO handshake.
const ALLOWED = "http://chat.example.test:8080";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ gateways: 1, persister: false, gatewayEnv: { CORS_ORIGINS: ALLOWED } });
});
afterAll(async () => {
  await cluster?.stop();
});

const preflight = (origin: string) =>
  fetch(`${cluster.url(0)}/v1/conversations`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
  });

it("a preflight from an allowed origin is answered with that origin, the methods and the headers", async () => {
  const res = await preflight(ALLOWED);
  expect(res.status).toBe(204);
  expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
  expect(res.headers.get("access-control-allow-methods")).toContain("POST");
  expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
});

it("an answer to an allowed origin carries the CORS header, errors included", async () => {
  const res = await fetch(`${cluster.url(0)}/v1/conversations`, { headers: { origin: ALLOWED } });
  expect(res.status).toBe(401);
  expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
});

it("another origin gets no CORS headers (the browser then refuses to hand over the answer)", async () => {
  const res = await preflight("http://elsewhere.example.test");
  expect(res.headers.get("access-control-allow-origin")).toBeNull();
  const plain = await fetch(`${cluster.url(0)}/v1/conversations`, { headers: { origin: "http://elsewhere.example.test" } });
  expect(plain.headers.get("access-control-allow-origin")).toBeNull();
});
