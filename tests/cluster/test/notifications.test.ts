import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JobCatalog, type CommittedMessage } from "@parley/bus";
import { createWebhookNotifier, verifyWebhook } from "@parley/delivery";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { testInfra } from "@parley/testkit/vitest";
import { startCluster, type Cluster, type ClientSocket } from "./cluster.js";
import { startWebhookReceiver } from "./webhook-receiver.js";

const SECRET = "webhook-test-secret-0123456789";
const COLLAPSE_MS = 800;

/** Scripted answers per recipient: the nth request for them gets the nth status (then 200). */
const script = new Map<string, number[]>();
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let cluster: Cluster;
let redis: Redis;
const logLines: string[] = [];

beforeAll(async () => {
  receiver = await startWebhookReceiver((req, earlier) => script.get(req.body?.recipientId)?.[earlier.length] ?? 200);
  cluster = await startCluster({
    gateways: 2,
    delivery: {
      notifier: createWebhookNotifier({ url: receiver.url, secret: SECRET, timeoutMs: 2_000 }),
      logger: pino({ level: "info" }, { write: (line: string) => void logLines.push(line) }),
      config: { notifications: { collapseMs: COLLAPSE_MS, attempts: 4, backoffMs: 150 } },
    },
  });
  redis = createRedis({ url: testInfra().redisUrl, name: "notifications-test", role: "producer" });
  await waitForReady(redis);
});
afterAll(async () => {
  await cluster?.stop();
  await redis?.quit();
  await receiver?.close();
});

/**
 * Presence as the delivery service reads it: `keyspace.presence.counts` (userId → live sockets),
 * kept by the gateways' presence scripts as sockets connect and disconnect. The tests make users
 * online with real sockets and only read the hash, to know when the gateway has counted them.
 */
const liveSockets = async (userId: string) => Number((await redis.hget(cluster.keyspace.presence.counts, userId)) ?? 0);

/** A real socket of the user on gateway `i`, resolved once the cluster counts the user online. */
async function online(i: number, userId: string) {
  const socket = await cluster.connect(i, await cluster.token(userId));
  await until(async () => (await liveSockets(userId)) > 0);
  return socket;
}

async function send(socket: ClientSocket, conversationId: string, body: string) {
  const ack = await socket.emitWithAck("message:send", { conversationId, clientMessageId: randomUUID(), body });
  if (!ack.ok) throw new Error(JSON.stringify(ack));
  return ack.message;
}

async function change(socket: ClientSocket, event: "message:edit" | "message:delete", payload: { messageId: string; body?: string }) {
  const ack = event === "message:edit"
    ? await socket.emitWithAck("message:edit", { messageId: payload.messageId, body: payload.body ?? "" })
    : await socket.emitWithAck("message:delete", { messageId: payload.messageId });
  if (!ack.ok) throw new Error(JSON.stringify(ack));
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 8_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const quiet = (ms = COLLAPSE_MS * 2) => new Promise((r) => setTimeout(r, ms));

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await cluster.deliveryRegistry.getSingleMetric(name)!.get();
  return metric.values
    .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

describe("offline notifications through the signed webhook", () => {
  it("a burst of messages to an offline user becomes one notification with the count and the latest message; the next message opens a new window", async () => {
    const alice = await cluster.token("p1-alice", "Alice");
    const conversation = await cluster.createConversation(alice, ["p1-bob"]);
    const socket = await cluster.connect(0, alice);
    for (let i = 1; i <= 5; i++) await send(socket, conversation.id, `burst ${i}`);

    await until(() => receiver.for("p1-bob").length === 1);
    await quiet();
    const [only] = receiver.for("p1-bob");
    expect(receiver.for("p1-bob")).toHaveLength(1);
    expect(only!.body).toMatchObject({
      type: "conversation.unread",
      recipientId: "p1-bob",
      conversationId: conversation.id,
      count: 5,
      firstSeq: 1,
      lastSeq: 5,
      latest: { seq: 5, senderId: "p1-alice", senderName: "Alice", kind: "text", preview: "burst 5" },
    });
    expect(only!.headers["x-parley-delivery"]).toBe(only!.body.id);
    // The sender is never notified of their own messages.
    expect(receiver.for("p1-alice")).toHaveLength(0);

    await send(socket, conversation.id, "later");
    await until(() => receiver.for("p1-bob").length === 2);
    expect(receiver.for("p1-bob")[1]!.body).toMatchObject({ count: 1, firstSeq: 6, lastSeq: 6, latest: { preview: "later" } });
    expect(receiver.for("p1-bob")[1]!.body.id).not.toBe(only!.body.id);
  });

  it("the signature verifies with the secret and fails with another, or on a changed body; an old timestamp is detectable as a replay", async () => {
    const alice = await cluster.token("p2-alice", "Alice");
    const conversation = await cluster.createConversation(alice, ["p2-bob"]);
    const socket = await cluster.connect(1, alice);
    await send(socket, conversation.id, "sign me");
    await until(() => receiver.for("p2-bob").length === 1);
    const req = receiver.for("p2-bob")[0]!;
    const timestamp = req.headers["x-parley-timestamp"] as string;
    const signature = req.headers["x-parley-signature"] as string;
    expect(signature).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(10);

    expect(verifyWebhook({ secret: SECRET, rawBody: req.rawBody, timestamp, signature })).toEqual({ ok: true });
    expect(verifyWebhook({ secret: "another-secret-0123456789", rawBody: req.rawBody, timestamp, signature })).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifyWebhook({ secret: SECRET, rawBody: req.rawBody.replace("p2-bob", "p2-eve"), timestamp, signature })).toEqual({ ok: false, reason: "bad_signature" });
    // A fresh timestamp on the old signature: the timestamp is inside the MAC.
    expect(verifyWebhook({ secret: SECRET, rawBody: req.rawBody, timestamp: String(Number(timestamp) + 60), signature })).toEqual({ ok: false, reason: "bad_signature" });
    // The same request replayed six minutes later.
    expect(verifyWebhook({ secret: SECRET, rawBody: req.rawBody, timestamp, signature, nowSeconds: Number(timestamp) + 360 })).toEqual({ ok: false, reason: "too_old" });
    expect(verifyWebhook({ secret: SECRET, rawBody: req.rawBody, timestamp: undefined, signature })).toEqual({ ok: false, reason: "malformed" });
  });

  it("an online user gets none while offline co-members (absent or 0 sockets) get theirs", async () => {
    const alice = await cluster.token("p3-alice", "Alice");
    const conversation = await cluster.createConversation(alice, ["p3-bob", "p3-carol", "p3-dave"]);
    // bob is connected on both gateways; dave was, and left (0 sockets); carol never connected.
    await online(0, "p3-bob");
    await online(1, "p3-bob");
    (await online(1, "p3-dave")).disconnect();
    await until(async () => (await liveSockets("p3-dave")) === 0);
    const socket = await cluster.connect(0, alice);
    await send(socket, conversation.id, "anyone there?");
    await until(() => receiver.for("p3-carol").length === 1 && receiver.for("p3-dave").length === 1);
    await quiet();
    expect(receiver.for("p3-bob")).toHaveLength(0);
    expect(receiver.for("p3-carol")[0]!.body).toMatchObject({ count: 1 });
  });

  it("is skipped when the recipient reads up to it, or comes online, before the window ends", async () => {
    const alice = await cluster.token("p4-alice", "Alice");
    const bob = await cluster.token("p4-bob");
    const conversation = await cluster.createConversation(alice, ["p4-bob", "p4-carol"]);
    const socket = await cluster.connect(0, alice);
    const skipped = { read: await counter("parley_delivery_notifications_skipped_total", { reason: "read" }), online: await counter("parley_delivery_notifications_skipped_total", { reason: "online" }) };
    const windows = await counter("parley_delivery_notification_windows_total");
    await send(socket, conversation.id, "one");
    await send(socket, conversation.id, "two");
    // The persister hands commits off in windows of its own (250 ms): wait until bob's and
    // carol's collapse windows are open, or the hand-off could already find them read/online.
    await until(async () => (await counter("parley_delivery_notification_windows_total")) >= windows + 2);
    // Within the window: bob reads both on another device (HTTP), carol connects somewhere.
    expect((await cluster.http(1, "POST", `/v1/conversations/${conversation.id}/read`, { token: bob, body: { seq: 2 } })).status).toBe(200);
    await online(1, "p4-carol");
    await until(async () => (await counter("parley_delivery_notifications_skipped_total", { reason: "read" })) > skipped.read);
    await until(async () => (await counter("parley_delivery_notifications_skipped_total", { reason: "online" })) > skipped.online);
    await quiet();
    expect(receiver.for("p4-bob")).toHaveLength(0);
    expect(receiver.for("p4-carol")).toHaveLength(0);
  });

  it("a receiver answering 500 twice then 200 gets the notification on the third attempt, signed afresh, with the same delivery id", async () => {
    script.set("p5-bob", [500, 500]);
    const alice = await cluster.token("p5-alice", "Alice");
    const conversation = await cluster.createConversation(alice, ["p5-bob"]);
    const socket = await cluster.connect(0, alice);
    await send(socket, conversation.id, "are you there");
    await until(() => receiver.for("p5-bob").length === 3);
    await quiet();
    const attempts = receiver.for("p5-bob");
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((a) => a.headers["x-parley-delivery"])).size).toBe(1);
    for (const a of attempts) {
      expect(verifyWebhook({ secret: SECRET, rawBody: a.rawBody, timestamp: a.headers["x-parley-timestamp"] as string, signature: a.headers["x-parley-signature"] as string })).toEqual({ ok: true });
    }
    // Backoff: the retries were spaced out (150 ms, then 300 ms).
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(100);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(200);
    expect(attempts[2]!.body).toMatchObject({ count: 1, latest: { preview: "are you there" } });
  });

  it("a receiver answering 400 is given up at once, with the reason logged and counted", async () => {
    script.set("p6-bob", [400, 400, 400, 400]);
    const rejected = await counter("parley_delivery_notifications_failed_total", { reason: "rejected" });
    const alice = await cluster.token("p6-alice", "Alice");
    const conversation = await cluster.createConversation(alice, ["p6-bob"]);
    const socket = await cluster.connect(0, alice);
    await send(socket, conversation.id, "you will refuse this");
    await until(() => receiver.for("p6-bob").length === 1);
    await until(async () => (await counter("parley_delivery_notifications_failed_total", { reason: "rejected" })) === rejected + 1);
    await quiet(1_000);
    expect(receiver.for("p6-bob")).toHaveLength(1);
    const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "notification refused by the receiver: given up");
    expect(line).toMatchObject({ reason: "the webhook answered 400", notifier: "webhook" });
  });

  it("a receiver answering 500 every time is given up after the last attempt, with the reason logged and counted", async () => {
    script.set("p8-bob", Array.from({ length: 10 }, () => 503));
    const exhausted = await counter("parley_delivery_notifications_failed_total", { reason: "exhausted" });
    const alice = await cluster.token("p8-alice", "Alice");
    const conversation = await cluster.createConversation(alice, ["p8-bob"]);
    const socket = await cluster.connect(0, alice);
    await send(socket, conversation.id, "nobody home");
    // attempts: 4 in this cluster's configuration.
    await until(async () => (await counter("parley_delivery_notifications_failed_total", { reason: "exhausted" })) === exhausted + 1, 15_000);
    await quiet();
    expect(receiver.for("p8-bob")).toHaveLength(4);
    const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "notification given up after its last attempt");
    expect(line).toMatchObject({ reason: "the webhook answered 503", attempts: 4 });
  });

  it("a burst to a conversation of 20 offline members: each gets the whole count, in one notification (two if the burst straddled a window)", async () => {
    const alice = await cluster.token("p7-alice", "Alice");
    const members = Array.from({ length: 20 }, (_, i) => `p7-m${i}`);
    const conversation = await cluster.createConversation(alice, members);
    const socket = await cluster.connect(0, alice);
    await Promise.all(Array.from({ length: 10 }, (_, i) => send(socket, conversation.id, `fan ${i}`)));
    await until(() => members.every((m) => receiver.for(m).length >= 1));
    await quiet();
    // Every member: one notification for the whole burst (or few, if the burst straddled a window).
    const counts = members.map((m) => receiver.for(m).reduce((n, r) => n + (r.body.count as number), 0));
    expect(counts.every((n) => n === 10)).toBe(true);
    expect(members.every((m) => receiver.for(m).length <= 2)).toBe(true);
  });

  it("a message deleted within the window is neither counted nor shown: its text never reaches the webhook; with nothing left, nothing is sent", async () => {
    const alice = await cluster.token("p9-alice", "Alice");
    const socket = await cluster.connect(0, alice);
    const withBob = await cluster.createConversation(alice, ["p9-bob"]);
    const kept = await send(socket, withBob.id, "keep me");
    const gone = await send(socket, withBob.id, "secret nine, take it back");
    await change(socket, "message:delete", { messageId: gone.id });
    const withCarol = await cluster.createConversation(alice, ["p9-carol"]);
    const deleted = await counter("parley_delivery_notifications_skipped_total", { reason: "deleted" });
    const alone = await send(socket, withCarol.id, "secret nine alone");
    await change(socket, "message:delete", { messageId: alone.id });

    await until(() => receiver.for("p9-bob").length === 1);
    await until(async () => (await counter("parley_delivery_notifications_skipped_total", { reason: "deleted" })) === deleted + 1);
    await quiet();
    const [only] = receiver.for("p9-bob");
    expect(receiver.for("p9-bob")).toHaveLength(1);
    expect(only!.body).toMatchObject({ count: 1, firstSeq: kept.seq, lastSeq: kept.seq, latest: { messageId: kept.id, seq: kept.seq, preview: "keep me" } });
    expect(receiver.for("p9-carol")).toHaveLength(0);
    expect(receiver.requests.filter((r) => r.rawBody.includes("secret nine"))).toHaveLength(0);
    // Nor does Redis hold it: the collapse state keeps seqs, never text.
    const keys = [cluster.keyspace.notify.pending(withBob.id, "p9-bob"), cluster.keyspace.notify.pending(withCarol.id, "p9-carol")];
    for (const key of keys) expect(JSON.stringify(await redis.hgetall(key))).not.toContain("secret");
  });

  it("a message edited within the window is shown with its new text", async () => {
    const alice = await cluster.token("p10-alice", "Alice");
    const socket = await cluster.connect(1, alice);
    const conversation = await cluster.createConversation(alice, ["p10-bob"]);
    const m = await send(socket, conversation.id, "draft wording");
    await change(socket, "message:edit", { messageId: m.id, body: "final wording ✨" });
    await until(() => receiver.for("p10-bob").length === 1);
    expect(receiver.for("p10-bob")[0]!.body).toMatchObject({ count: 1, latest: { messageId: m.id, preview: "final wording ✨" } });
    expect(receiver.for("p10-bob")[0]!.rawBody).not.toContain("draft");
  });

  it("a message deleted between attempts is not in the next attempt", async () => {
    script.set("p11-bob", [500, 500, 500]);
    const alice = await cluster.token("p11-alice", "Alice");
    const socket = await cluster.connect(0, alice);
    const conversation = await cluster.createConversation(alice, ["p11-bob"]);
    const kept = await send(socket, conversation.id, "keep eleven");
    const gone = await send(socket, conversation.id, "secret eleven");
    // The first attempt left before the deletion, with the text as it was then.
    await until(() => receiver.for("p11-bob").length === 1);
    expect(receiver.for("p11-bob")[0]!.body).toMatchObject({ count: 2, latest: { preview: "secret eleven" } });
    await change(socket, "message:delete", { messageId: gone.id });
    // One attempt may have read the message just before the deletion and be on its way; every
    // later one (retries are 150 ms and more apart) reads it deleted.
    const inFlight = receiver.for("p11-bob").length + 1;
    await until(() => receiver.for("p11-bob").length === 4);
    await quiet();
    const attempts = receiver.for("p11-bob");
    expect(attempts).toHaveLength(4);
    expect(new Set(attempts.map((a) => a.body.id)).size).toBe(1);
    for (const a of attempts.slice(inFlight)) expect(a.rawBody).not.toContain("secret eleven");
    expect(attempts[3]!.body).toMatchObject({ count: 1, lastSeq: kept.seq, latest: { messageId: kept.id, preview: "keep eleven" } });
  });

  it("hand-offs of one conversation applied out of order, and one twice, give the exact count", async () => {
    const alice = await cluster.token("p12-alice", "Alice");
    const conversation = await cluster.createConversation(alice, ["p12-bob"]);
    const notify = new Queue("notify", { connection: redis, prefix: cluster.keyspace.queuePrefix });
    const pending = async () => Object.values(await notify.getJobCounts("waiting", "active", "delayed", "prioritized")).reduce((a, b) => a + b, 0);
    try {
      // The persister's own hand-offs find bob online and notify nobody; the test then hands
      // the same messages off again, as several replicas could process them: reordered.
      const bob = await online(1, "p12-bob");
      const socket = await cluster.connect(0, alice);
      const sent = [];
      for (let i = 1; i <= 4; i++) sent.push(await send(socket, conversation.id, `order ${i}`));
      // Each hand-off is added right after its commit, without the ack waiting for it: let the
      // last ones land, then wait for them to be processed.
      await until(async () => (await pending()) === 0);
      await quiet(300);
      await until(async () => (await pending()) === 0);
      bob.disconnect();
      await until(async () => (await liveSockets("p12-bob")) === 0);

      const committed = sent.map((m): CommittedMessage => ({ id: m.id, conversationId: m.conversationId, seq: m.seq, senderId: m.senderId, senderName: m.senderName, kind: m.kind, createdAt: m.createdAt }));
      const later = { messages: committed.slice(2) };
      const earlier = { messages: committed.slice(0, 2) };
      // One at a time (NOTIFY_CONCURRENCY=1 here), so they run in this order: the later batch
      // first, then the earlier one it overtook, then the later one again (a re-run).
      for (const data of [later, earlier, later]) await notify.add("notify", data, JobCatalog.notify.options);

      await until(() => receiver.for("p12-bob").length === 1);
      await quiet();
      expect(receiver.for("p12-bob")).toHaveLength(1);
      expect(receiver.for("p12-bob")[0]!.body).toMatchObject({
        count: 4,
        firstSeq: sent[0]!.seq,
        lastSeq: sent[3]!.seq,
        latest: { messageId: sent[3]!.id, preview: "order 4" },
      });
    } finally {
      await notify.close();
    }
  });
});
