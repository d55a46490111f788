import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import postgres from "postgres";
import { expect, it } from "vitest";
import { runScenario, sleep } from "@parley/testkit/faults";
import { testInfra } from "@parley/testkit/vitest";

// Scenario 10: Redis reaches maxmemory (noeviction, the only policy the services accept) under
// load: writes are refused with OOM. A send then answers UNAVAILABLE and nothing of it is
// written; the SDK retries its own; once memory frees (here: the limit raised again, as an
// operator would, or as trimming makes room) sends are acked again with no restart.
it("Redis at maxmemory with noeviction: sends answer UNAVAILABLE, nothing half-written, recovery once memory frees", async () => {
  const refused: { status: number; code?: string; clientMessageId: string }[] = [];
  const verdict = await runScenario("10 Redis at maxmemory", testInfra().databaseUrl, { cluster: {}, recoveryBoundMs: 15_000 }, async ({ cluster, load }) => {
    const admin = new Redis(cluster.redis.url);
    try {
      const used = Number(/used_memory:(\d+)/.exec(await admin.info("memory"))![1]);
      // Below what is used: with noeviction every write is refused at once (OOM), reads still served.
      await admin.config("SET", "maxmemory", String(Math.floor(used / 2)));
      const sender = await cluster.token(load.clients[0]!.userId);
      const conversationId = load.conversationIds[0]!;
      const fullSince = Date.now();
      while (Date.now() - fullSince < 4_000) {
        const clientMessageId = randomUUID();
        const res = await fetch(`${cluster.gateways[1]!.process.url}/v1/conversations/${conversationId}/messages`, {
          method: "POST",
          headers: { authorization: `Bearer ${sender}`, "content-type": "application/json" },
          body: JSON.stringify({ clientMessageId, body: "while full" }),
        });
        const body = (await res.json()) as { error?: { code?: string } };
        if (res.status !== 201) refused.push({ status: res.status, code: body.error?.code, clientMessageId });
        await sleep(200);
      }
      await admin.config("SET", "maxmemory", "0");
    } finally {
      admin.disconnect();
    }
    // Nothing of a refused send was stored, then or later.
    await sleep(2_000);
    const sql = postgres(cluster.database.url, { max: 1, onnotice: () => {} });
    try {
      const stored = await sql`select count(*)::int as n from messages where client_message_id = any(${refused.map((r) => r.clientMessageId)}::uuid[])`;
      expect(stored[0]!.n).toBe(0);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
  process.stdout.write(`fault-suite 10 refusals while full: ${JSON.stringify({ refused: refused.length, codes: [...new Set(refused.map((r) => `${r.status} ${r.code}`))] })}\n`);
  expect(verdict.violations).toEqual([]);
  expect(refused.length).toBeGreaterThan(0);
  expect(new Set(refused.map((r) => `${r.status} ${r.code}`))).toEqual(new Set(["503 UNAVAILABLE"]));
});
