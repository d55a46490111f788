import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { registerCors } from "./cors.js";

describe("registerCors", () => {
  // A browser asks before every PUT/PATCH/DELETE: a method missing here fails in the page only.
  it("allows every method the routes use to an allowed origin, and nothing to another", async () => {
    const app = Fastify();
    await registerCors(app, (origin) => origin === "http://web.test");
    app.put("/v1/blocks/:userId", async (_req, reply) => reply.code(204).send());
    await app.ready();
    const preflight = (origin: string, method: string) =>
      app.inject({ method: "OPTIONS", url: "/v1/blocks/bob", headers: { origin, "access-control-request-method": method, "access-control-request-headers": "authorization" } });

    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
      const res = await preflight("http://web.test", method);
      expect(res.headers["access-control-allow-methods"]?.toString().split(",").map((m) => m.trim())).toContain(method);
      expect(res.headers["access-control-allow-origin"]).toBe("http://web.test");
    }
    expect((await preflight("http://elsewhere.test", "PUT")).headers["access-control-allow-origin"]).toBeUndefined();
    await app.close();
  });
});
