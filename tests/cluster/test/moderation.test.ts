import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from "@parley/runtime";
import { startCluster, type Cluster, type ClientSocket } from "./cluster.js";

/**
 * The moderation webhook (MODERATION_WEBHOOK_URL) in front of the send path, against a real
 * HTTP receiver: gateway 0 fails open on a time-out, gateway 1 fails closed.
 */
const SECRET = "moderation-test-secret-0123456789";
const TIMEOUT_MS = 300;
const MAX_CONCURRENT = 4;

interface Seen {
  body: string;
  clientMessageId: string;
  signed: boolean;
}
const seen: Seen[] = [];
/** Bodies whose next answer is "allow" whatever they hold (a moderator that changed its mind). */
const allowNext = new Set<string>();
let server: ReturnType<typeof createServer>;
let url: string;
let cluster: Cluster;
let alice: string;
let conversationId: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (raw += c));
    req.on("end", () => {
      const request = JSON.parse(raw) as { message: { body: string; clientMessageId: string } };
      const signed = verifyWebhook({
        secret: SECRET,
        rawBody: raw,
        timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined,
        signature: req.headers[SIGNATURE_HEADER] as string | undefined,
      }).ok;
      const body = request.message.body;
      seen.push({ body, clientMessageId: request.message.clientMessageId, signed });
      const answer = (status: number, decision: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(decision));
      if (allowNext.delete(body)) return answer(200, { action: "allow" });
      if (body.includes("slow")) return void setTimeout(() => answer(200, { action: "allow" }), 3 * TIMEOUT_MS);
      if (body.includes("boom")) return answer(500, { oops: true });
      if (body.includes("forbidden-word")) return answer(200, { action: "reject" });
      if (body.includes("replace-me")) return answer(200, { action: "replace", body: body.replace("replace-me", "[removed]") });
      return answer(200, { action: "allow" });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/moderate`;
  cluster = await startCluster({
    gateways: 2,
    gatewayEnv: {
      MODERATION_WEBHOOK_URL: url,
      MODERATION_WEBHOOK_SECRET: SECRET,
      MODERATION_TIMEOUT_MS: String(TIMEOUT_MS),
      MODERATION_MAX_CONCURRENT: String(MAX_CONCURRENT),
    },
    gatewayEnvOf: (i) => ({ MODERATION_FAIL_OPEN: i === 0 ? "true" : "false" }),
  });
  alice = await cluster.token("alice");
  conversationId = (await cluster.createConversation(alice, ["bob"])).id;
});
afterAll(async () => {
  await cluster?.stop();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

async function stored(clientMessageId: string) {
  return cluster.database.sql<{ body: string | null }[]>`select body from messages where sender_id = 'alice' and client_message_id = ${clientMessageId}`;
}

const viaSocket = async (gateway: number, body: string, clientMessageId = randomUUID()) => {
  const socket: ClientSocket = await cluster.connect(gateway, alice);
  try {
    return await socket.emitWithAck("message:send", { conversationId, clientMessageId, body });
  } finally {
    socket.disconnect();
  }
};
const viaHttp = (gateway: number, body: string, clientMessageId = randomUUID()) =>
  cluster.http(gateway, "POST", `/v1/conversations/${conversationId}/messages`, { token: alice, body: { clientMessageId, body } });

const decisions = async (gateway: number, decision: string) =>
  (await cluster.nodes[gateway]!.registry.getSingleMetric("parley_gateway_moderation_decisions_total")!.get()).values.find((v) => v.labels.decision === decision)?.value ?? 0;

describe("moderation webhook", () => {
  it("shows every send, signed, and stores an allowed one unchanged (both gateways, socket and HTTP)", async () => {
    const a = await viaSocket(0, "hello from a socket");
    const b = await viaHttp(1, "hello over HTTP");
    expect(a.ok && a.message.body).toBe("hello from a socket");
    expect(b.status).toBe(201);
    expect(b.body.message.body).toBe("hello over HTTP");
    const shown = seen.filter((s) => s.body.startsWith("hello"));
    expect(shown).toHaveLength(2);
    expect(shown.every((s) => s.signed)).toBe(true);
  });

  it("a rejected send answers REJECTED (HTTP 422), stores nothing, and its retry is rejected again", async () => {
    const id = randomUUID();
    const first = await viaSocket(0, "this has a forbidden-word", id);
    expect(first).toMatchObject({ ok: false, error: { code: "REJECTED" } });
    const retry = await viaHttp(1, "this has a forbidden-word", id);
    expect(retry.status).toBe(422);
    expect(retry.body.error.code).toBe("REJECTED");
    expect(await stored(id)).toHaveLength(0);
    // The retry was shown again (nothing about the rejection is remembered).
    expect(seen.filter((s) => s.clientMessageId === id)).toHaveLength(2);
  });

  it("a replaced send stores the replacement; its retry answers the stored message even when the webhook now says otherwise", async () => {
    const id = randomUUID();
    const body = "please replace-me now";
    const first = await viaSocket(0, body, id);
    expect(first.ok && first.message.body).toBe("please [removed] now");
    expect(first.ok && first.duplicate).toBe(false);
    // The same retry through the other gateway, over HTTP: duplicate, the stored (replaced) message.
    const retry = await viaHttp(1, body, id);
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ duplicate: true, message: { id: first.ok ? first.message.id : "", body: "please [removed] now" } });
    // The moderator now allows the text as it is: the retry is still the stored message.
    allowNext.add(body);
    const again = await viaSocket(1, body, id);
    expect(again).toMatchObject({ ok: true, duplicate: true, message: { body: "please [removed] now" } });
    // Another body under the same clientMessageId is still CONFLICT (migration 0006's rule).
    const other = await viaSocket(0, "something else entirely", id);
    expect(other).toMatchObject({ ok: false, error: { code: "CONFLICT" } });
    expect(await stored(id)).toEqual([{ body: "please [removed] now" }]);
  });

  it("fail-open (gateway 0): a time-out stores the send unchanged", async () => {
    const before = await decisions(0, "failed_open");
    const id = randomUUID();
    const ack = await viaSocket(0, "a slow one", id);
    expect(ack).toMatchObject({ ok: true, message: { body: "a slow one" } });
    expect(await stored(id)).toEqual([{ body: "a slow one" }]);
    expect(await decisions(0, "failed_open")).toBe(before + 1);
    // An error status is no answer either.
    expect(await viaHttp(0, "boom goes the moderator")).toMatchObject({ status: 201 });
  });

  it("fail-closed (gateway 1): a time-out answers REJECTED and stores nothing", async () => {
    const before = await decisions(1, "failed_closed");
    const id = randomUUID();
    const res = await viaHttp(1, "another slow one", id);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("REJECTED");
    expect(await stored(id)).toHaveLength(0);
    expect(await decisions(1, "failed_closed")).toBe(before + 1);
    expect(await viaSocket(1, "boom again")).toMatchObject({ ok: false, error: { code: "REJECTED" } });
  });

  it("past MODERATION_MAX_CONCURRENT calls in flight, sends are refused UNAVAILABLE with retryAfterMs, nothing stored", async () => {
    const socket = await cluster.connect(0, alice);
    const ids = Array.from({ length: MAX_CONCURRENT + 3 }, () => randomUUID());
    const acks = await Promise.all(ids.map((clientMessageId) => socket.emitWithAck("message:send", { conversationId, clientMessageId, body: "slow burst" })));
    socket.disconnect();
    const refused = acks.filter((a) => !a.ok && a.error.code === "UNAVAILABLE");
    expect(refused.length).toBeGreaterThanOrEqual(3);
    for (const r of refused) expect(!r.ok && r.error.retryAfterMs).toBeGreaterThan(0);
    const storedCount = (await Promise.all(ids.map(stored))).filter((rows) => rows.length > 0).length;
    expect(storedCount).toBe(acks.filter((a) => a.ok).length);
  });
});
