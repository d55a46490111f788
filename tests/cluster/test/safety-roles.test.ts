import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditEntrySchema, HttpRoutes } from "@parley/protocol";
import { startCluster, type Cluster } from "./cluster.js";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ gateways: 2 });
});
afterAll(async () => {
  await cluster?.stop();
});

const admin = (sub: string) => cluster.token(sub, undefined, { claims: { parley_role: "admin" } });

describe("roles: /v1/admin/* is for parley_role admin only", () => {
  it("answers 403 FORBIDDEN to ordinary users, services and unknown roles, on both gateways, and 401 without a token", async () => {
    const tokens = [
      await cluster.token("r-user"),
      await cluster.token("r-svc", undefined, { claims: { parley_role: "service" } }),
      await cluster.token("r-odd", undefined, { claims: { parley_role: "Admin" } }),
    ];
    for (const gateway of [0, 1]) {
      for (const token of tokens) {
        const res = await cluster.http(gateway, "GET", "/v1/admin/audit", { token });
        expect(res.status).toBe(403);
        expect(res.body.error.code).toBe("FORBIDDEN");
      }
      // A route under /v1/admin/ that does not exist is refused the same way: nothing is revealed.
      const unknown = await cluster.http(gateway, "GET", "/v1/admin/nothing-here", { token: tokens[0]! });
      expect(unknown.status).toBe(403);
      expect((await cluster.http(gateway, "GET", "/v1/admin/audit")).status).toBe(401);
    }
  });

  it("lets an admin page the audit log, on either gateway", async () => {
    for (const gateway of [0, 1]) {
      const res = await cluster.http(gateway, "GET", "/v1/admin/audit?limit=5", { token: await admin("r-admin") });
      expect(res.status).toBe(200);
      const page = HttpRoutes.adminAudit.reply.parse(res.body);
      for (const e of page.entries) AuditEntrySchema.parse(e);
    }
    const bad = await cluster.http(0, "GET", "/v1/admin/audit?cursor=abc", { token: await admin("r-admin") });
    expect(bad.status).toBe(400);
  });
});
