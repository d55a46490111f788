import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replayDeadEvents } from "@parley/delivery";
import { createRedis, DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook, waitForReady, type Redis } from "@parley/runtime";
import { testLogger } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";
import type { Message } from "@parley/protocol";
import { startCluster, type Cluster } from "./cluster.js";

/**
 * The events webhook (EVENTS_WEBHOOK_URL) against a real HTTP receiver that is down for a
 * while, then back; and one that refuses events for good until they are replayed.
 */
const SECRET = "events-test-secret-0123456789";

interface Received {
  id: string;
  type: string;
  at: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test receiver: assertions check the shape
  data: any;
  signed: boolean;
  deliveryHeader: string | undefined;
}
const received: Received[] = [];
let mode: "down" | "up" | "refuse-conversation" = "down";
let refusedConversation = "";
let downAnswers = 0;
let server: ReturnType<typeof createServer>;
let cluster: Cluster;
let redis: Redis;

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (raw += c));
    req.on("end", () => {
      if (mode === "down") {
        downAnswers++;
        return res.writeHead(503).end();
      }
      const event = JSON.parse(raw) as Received;
      if (mode === "refuse-conversation" && JSON.stringify(event.data).includes(refusedConversation)) return res.writeHead(410).end();
      const signed = verifyWebhook({
        secret: SECRET,
        rawBody: raw,
        timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined,
        signature: req.headers[SIGNATURE_HEADER] as string | undefined,
      }).ok;
      received.push({ ...event, signed, deliveryHeader: req.headers[DELIVERY_HEADER] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  cluster = await startCluster({
    gateways: 2,
    gatewayEnv: { EVENTS_WEBHOOK_URL: url },
    delivery: {
      env: {
        EVENTS_WEBHOOK_URL: url,
        EVENTS_WEBHOOK_SECRET: SECRET,
        EVENTS_WEBHOOK_ATTEMPTS: "30",
        EVENTS_WEBHOOK_BACKOFF_MS: "100",
        EVENTS_WEBHOOK_TIMEOUT_MS: "1000",
      },
    },
  });
  redis = createRedis({ url: testInfra().redisUrl, name: "events-test", role: "consumer" });
  await waitForReady(redis);
});
afterAll(async () => {
  await cluster?.stop();
  await redis?.quit();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const of = (type: string, pred: (e: Received) => boolean = () => true) => received.filter((e) => e.type === type && pred(e));

describe("events webhook", () => {
  it("while the receiver is down, the message path is not slowed; once it is back, every event arrives signed, with its id", async () => {
    const alice = await cluster.token("alice");
    const conversation = await cluster.createConversation(alice, ["bob"]);
    const socket = await cluster.connect(1, alice);
    const sent: Message[] = [];
    const started = performance.now();
    for (let i = 0; i < 5; i++) {
      const ack = await socket.emitWithAck("message:send", { conversationId: conversation.id, clientMessageId: randomUUID(), body: `event text ${i}` });
      if (!ack.ok) throw new Error(JSON.stringify(ack));
      sent.push(ack.message);
    }
    // Five sequential sends with the receiver refusing everything: well within the send path's bound.
    expect(performance.now() - started).toBeLessThan(5 * 1_500);
    const edit = await socket.emitWithAck("message:edit", { messageId: sent[0]!.id, body: "event text 0, edited" });
    expect(edit.ok).toBe(true);
    expect((await cluster.http(0, "POST", `/v1/conversations/${conversation.id}/members`, { token: alice, body: { userIds: ["carol"] } })).status).toBe(200);
    expect((await cluster.http(1, "DELETE", `/v1/conversations/${conversation.id}/members/carol`, { token: alice })).status).toBe(204);
    socket.disconnect();

    await until(() => downAnswers >= 3, "the webhook to be tried while down");
    expect(received).toHaveLength(0);
    mode = "up";

    const about = (e: Received) => JSON.stringify(e.data).includes(conversation.id);
    // Each event is on its own backoff schedule: wait for every kind.
    await until(
      () => ["conversation.created", "member.added", "member.removed", "message.updated"].every((t) => of(t, about).length >= 1) && of("message.created", about).length >= 5,
      "the events after the outage",
    );
    expect(of("conversation.created", about)).toHaveLength(1);
    expect(of("member.added", about)[0]!.data).toMatchObject({ conversationId: conversation.id, userIds: ["carol"], by: "alice" });
    expect(of("member.removed", about)[0]!.data).toMatchObject({ conversationId: conversation.id, userIds: ["carol"] });
    const created = of("message.created", about);
    // At least once: each message's event at least once, and every copy of one event has one id.
    expect(new Set(created.map((e) => e.data.message.id))).toEqual(new Set(sent.map((m) => m.id)));
    expect(new Set(created.map((e) => e.id)).size).toBe(sent.length);
    // Sent as the message is now: the edited text, not the text it was queued with.
    expect(created.find((e) => e.data.message.id === sent[0]!.id)!.data.message.body).toBe("event text 0, edited");
    expect(of("message.updated", about)[0]!.data.message).toMatchObject({ id: sent[0]!.id, body: "event text 0, edited" });
    for (const e of received) {
      expect(e.signed).toBe(true);
      expect(e.deliveryHeader).toBe(e.id);
      expect(e.at).toBeDefined();
    }
  });

  it("a report and a ban are events too (report.created, user.banned), without the text users wrote", async () => {
    const alice = await cluster.token("alice");
    const bob = await cluster.token("bob");
    const admin = await cluster.token("root", "Root", { claims: { parley_role: "admin" } });
    const conversation = await cluster.createConversation(alice, ["bob"]);
    const sent = await cluster.http(0, "POST", `/v1/conversations/${conversation.id}/messages`, { token: alice, body: { clientMessageId: randomUUID(), body: "report me" } });
    expect(sent.status).toBe(201);
    const report = await cluster.http(1, "POST", `/v1/messages/${sent.body.message.id}/report`, { token: bob, body: { reason: "spam", note: "a note bob wrote" } });
    expect(report.status).toBe(201);
    expect((await cluster.http(0, "PUT", "/v1/admin/users/mallory/ban", { token: admin, body: { reason: "flooding" } })).status).toBe(204);
    await until(() => of("report.created", (e) => e.data.reportId === report.body.reportId).length === 1 && of("user.banned", (e) => e.data.userId === "mallory").length === 1, "the safety events");
    const reported = of("report.created", (e) => e.data.reportId === report.body.reportId)[0]!;
    expect(reported.data).toMatchObject({ messageId: sent.body.message.id, conversationId: conversation.id, reporterId: "bob", reportedUserId: "alice", reason: "spam" });
    expect(JSON.stringify(reported.data)).not.toContain("a note bob wrote");
    expect(of("user.banned", (e) => e.data.userId === "mallory")[0]!.data).toMatchObject({ userId: "mallory", by: "root", until: null });
  });

  it("an event the receiver refuses is kept as dead and delivered by a replay", async () => {
    const alice = await cluster.token("alice");
    const conversation = await cluster.createConversation(alice, ["dave"]);
    refusedConversation = conversation.id;
    mode = "refuse-conversation";
    const queue = new Queue("events", { connection: redis, prefix: cluster.keyspace.queuePrefix });
    try {
      await until(async () => (await queue.getFailedCount()) >= 1, "the refused event to be dead");
      expect(of("conversation.created", (e) => e.data.conversationId === conversation.id)).toHaveLength(0);
      mode = "up";
      expect(await replayDeadEvents(queue, testLogger())).toBeGreaterThanOrEqual(1);
      await until(() => of("conversation.created", (e) => e.data.conversationId === conversation.id).length === 1, "the replayed event");
      await until(async () => (await queue.getFailedCount()) === 0, "no dead events left");
    } finally {
      await queue.close();
    }
  });
});
