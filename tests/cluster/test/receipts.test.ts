import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerPayload } from "@parley/protocol";
import { collect, startCluster, type Cluster, type ClientSocket } from "./cluster.js";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ gateways: 2, delivery: {} });
});
afterAll(async () => {
  await cluster?.stop();
});

async function send(socket: ClientSocket, conversationId: string, body: string) {
  const ack = await socket.emitWithAck("message:send", { conversationId, clientMessageId: randomUUID(), body });
  if (!ack.ok) throw new Error(JSON.stringify(ack));
  return ack.message;
}

/** Every `receipt` a socket hears, from now on. */
function receipts(socket: ClientSocket) {
  const got: ServerPayload<"receipt">[] = [];
  socket.on("receipt", (r) => got.push(r));
  return got;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Total of a counter in the delivery service's registry. */
async function counter(name: string): Promise<number> {
  const metric = await cluster.deliveryRegistry.getSingleMetric(name)!.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}

async function watermarks(conversationId: string, userId: string) {
  const [row] = await cluster.database.sql<{ delivered_seq: number; read_seq: number }[]>`
    select delivered_seq, read_seq from members where conversation_id = ${conversationId} and user_id = ${userId}`;
  return row;
}

describe("delivered and read receipts", () => {
  it("a delivered watermark reaches the members on another pod as a receipt, and is stored", async () => {
    const [alice, bob] = await Promise.all([cluster.token("r-alice"), cluster.token("r-bob")]);
    const conversation = await cluster.createConversation(alice, ["r-bob"]);
    const aliceSocket = await cluster.connect(0, alice);
    const bobSocket = await cluster.connect(1, bob);
    for (const body of ["one", "two", "three"]) await send(aliceSocket, conversation.id, body);

    const heard = collect(aliceSocket, "receipt", 1);
    expect(await bobSocket.emitWithAck("message:delivered", { conversationId: conversation.id, seq: 3 })).toEqual({ ok: true });
    const [receipt] = await heard;
    expect(receipt).toMatchObject({ conversationId: conversation.id, userId: "r-bob", kind: "delivered", seq: 3 });
    expect(Number.isNaN(Date.parse(receipt!.at))).toBe(false);
    expect(await watermarks(conversation.id, "r-bob")).toEqual({ delivered_seq: 3, read_seq: 0 });
  });

  it("a read watermark reaches the members on another pod; reading implies delivered", async () => {
    const [alice, bob] = await Promise.all([cluster.token("r2-alice"), cluster.token("r2-bob")]);
    const conversation = await cluster.createConversation(alice, ["r2-bob"]);
    const aliceSocket = await cluster.connect(0, alice);
    const bobSocket = await cluster.connect(1, bob);
    for (const body of ["one", "two", "three"]) await send(aliceSocket, conversation.id, body);

    const heard = collect(aliceSocket, "receipt", 2);
    const ack = await bobSocket.emitWithAck("message:read", { conversationId: conversation.id, seq: 2 });
    expect(ack).toEqual({ ok: true, lastReadSeq: 2, unreadCount: 1 });
    const got = await heard;
    expect(got.map((r) => [r.userId, r.kind, r.seq])).toEqual([
      ["r2-bob", "delivered", 2],
      ["r2-bob", "read", 2],
    ]);
    expect(await watermarks(conversation.id, "r2-bob")).toEqual({ delivered_seq: 2, read_seq: 2 });
  });

  it("a receipt arriving out of order (seq 5, then seq 3) changes nothing and emits nothing; seqs past the end are clamped", async () => {
    const [alice, bob] = await Promise.all([cluster.token("r3-alice"), cluster.token("r3-bob")]);
    const conversation = await cluster.createConversation(alice, ["r3-bob"]);
    const aliceSocket = await cluster.connect(0, alice);
    const bobSocket = await cluster.connect(1, bob);
    for (let i = 1; i <= 6; i++) await send(aliceSocket, conversation.id, `m${i}`);
    const heard = receipts(aliceSocket);

    const applied = await counter("parley_delivery_receipts_applied_total");
    expect(await bobSocket.emitWithAck("message:delivered", { conversationId: conversation.id, seq: 5 })).toEqual({ ok: true });
    await until(() => heard.length === 1);
    expect(await bobSocket.emitWithAck("message:delivered", { conversationId: conversation.id, seq: 3 })).toEqual({ ok: true });
    // The late one was applied (and changed nothing) before we look for a receipt.
    await until(async () => (await counter("parley_delivery_receipts_applied_total")) >= applied + 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(heard.map((r) => [r.kind, r.seq])).toEqual([["delivered", 5]]);
    expect(await watermarks(conversation.id, "r3-bob")).toEqual({ delivered_seq: 5, read_seq: 0 });

    // The same for reads, answered synchronously: the lower one keeps the watermark where it is.
    expect(await bobSocket.emitWithAck("message:read", { conversationId: conversation.id, seq: 5 })).toEqual({ ok: true, lastReadSeq: 5, unreadCount: 1 });
    expect(await bobSocket.emitWithAck("message:read", { conversationId: conversation.id, seq: 3 })).toEqual({ ok: true, lastReadSeq: 5, unreadCount: 1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(heard.map((r) => [r.kind, r.seq])).toEqual([
      ["delivered", 5],
      ["read", 5],
    ]);

    // Past the end: clamped to the conversation's last seq (6), never beyond.
    expect(await bobSocket.emitWithAck("message:delivered", { conversationId: conversation.id, seq: 1_000 })).toEqual({ ok: true });
    await until(() => heard.length === 3);
    expect(heard[2]).toMatchObject({ kind: "delivered", seq: 6 });
    expect(await bobSocket.emitWithAck("message:read", { conversationId: conversation.id, seq: 1_000 })).toEqual({ ok: true, lastReadSeq: 6, unreadCount: 0 });
    expect(await watermarks(conversation.id, "r3-bob")).toEqual({ delivered_seq: 6, read_seq: 6 });
  });

  it("many devices acking many messages become one stored watermark and one receipt per (conversation, user) batch", async () => {
    const [alice, bob] = await Promise.all([cluster.token("r4-alice"), cluster.token("r4-bob")]);
    const conversation = await cluster.createConversation(alice, ["r4-bob"]);
    const aliceSocket = await cluster.connect(0, alice);
    const bobDevices = await Promise.all([cluster.connect(0, bob), cluster.connect(1, bob), cluster.connect(1, bob)]);
    for (let i = 1; i <= 10; i++) await send(aliceSocket, conversation.id, `m${i}`);
    const heard = receipts(aliceSocket);
    const acks = await Promise.all(
      bobDevices.flatMap((d) => Array.from({ length: 10 }, (_, k) => d.emitWithAck("message:delivered", { conversationId: conversation.id, seq: k + 1 }))),
    );
    expect(acks.every((a) => a.ok)).toBe(true);
    await until(async () => (await watermarks(conversation.id, "r4-bob"))?.delivered_seq === 10);
    await new Promise((r) => setTimeout(r, 200));
    // Monotonic: whatever batches they fell into, receipts only ever go up, and end at 10.
    const seqs = heard.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.at(-1)).toBe(10);
    expect(seqs.length).toBeLessThan(30);
  });

  it("two concurrent reads of the same seq move the watermark once and emit one read receipt", async () => {
    const [alice, bob] = await Promise.all([cluster.token("r5-alice"), cluster.token("r5-bob")]);
    const conversation = await cluster.createConversation(alice, ["r5-bob"]);
    const aliceSocket = await cluster.connect(0, alice);
    const [b0, b1] = await Promise.all([cluster.connect(0, bob), cluster.connect(1, bob)]);
    for (let i = 1; i <= 3; i++) await send(aliceSocket, conversation.id, `m${i}`);
    const heard = receipts(aliceSocket);
    const answers = await Promise.all([
      b0.emitWithAck("message:read", { conversationId: conversation.id, seq: 3 }),
      b1.emitWithAck("message:read", { conversationId: conversation.id, seq: 3 }),
      cluster.http(1, "POST", `/v1/conversations/${conversation.id}/read`, { token: bob, body: { seq: 3 } }),
    ]);
    expect(answers[0]).toEqual({ ok: true, lastReadSeq: 3, unreadCount: 0 });
    expect(answers[1]).toEqual({ ok: true, lastReadSeq: 3, unreadCount: 0 });
    expect(answers[2].body).toEqual({ lastReadSeq: 3, unreadCount: 0 });
    await new Promise((r) => setTimeout(r, 300));
    expect(heard.filter((r) => r.kind === "read").map((r) => r.seq)).toEqual([3]);
  });
});

describe("unread counts", () => {
  it("`unread` reaches the reader's other device on another pod, not the socket that read; an HTTP read reaches every device", async () => {
    const [alice, bob] = await Promise.all([cluster.token("u-alice"), cluster.token("u-bob")]);
    const conversation = await cluster.createConversation(alice, ["u-bob"]);
    const aliceSocket = await cluster.connect(0, alice);
    const reader = await cluster.connect(0, bob);
    const otherDevice = await cluster.connect(1, bob);
    for (let i = 1; i <= 4; i++) await send(aliceSocket, conversation.id, `m${i}`);

    const readerHeard: ServerPayload<"unread">[] = [];
    reader.on("unread", (u) => readerHeard.push(u));
    const onOther = collect(otherDevice, "unread", 1);
    expect(await reader.emitWithAck("message:read", { conversationId: conversation.id, seq: 3 })).toEqual({ ok: true, lastReadSeq: 3, unreadCount: 1 });
    expect(await onOther).toEqual([{ conversationId: conversation.id, lastReadSeq: 3, unreadCount: 1 }]);
    await new Promise((r) => setTimeout(r, 200));
    expect(readerHeard).toEqual([]);

    const both = Promise.all([collect(reader, "unread", 1), collect(otherDevice, "unread", 1)]);
    const http = await cluster.http(1, "POST", `/v1/conversations/${conversation.id}/read`, { token: bob, body: { seq: 4 } });
    expect(http).toMatchObject({ status: 200, body: { lastReadSeq: 4, unreadCount: 0 } });
    for (const [u] of await both) expect(u).toEqual({ conversationId: conversation.id, lastReadSeq: 4, unreadCount: 0 });
  });

  it("own messages never count, and sync, GET /v1/conversations, the read ack, the HTTP read and `unread` agree", async () => {
    const [alice, bob] = await Promise.all([cluster.token("n-alice"), cluster.token("n-bob")]);
    const conversation = await cluster.createConversation(alice, ["n-bob"]);
    const aliceSocket = await cluster.connect(0, alice);
    const bobSocket = await cluster.connect(1, bob);
    const bobOther = await cluster.connect(0, bob);
    // seq 1-3 alice, 4-5 bob, 6 alice, 7 bob.
    for (const [s, body] of [[aliceSocket, "a1"], [aliceSocket, "a2"], [aliceSocket, "a3"], [bobSocket, "b1"], [bobSocket, "b2"], [aliceSocket, "a4"], [bobSocket, "b3"]] as const) {
      await send(s, conversation.id, body);
    }

    const numbers = async (token: string, socket: ClientSocket) => {
      const sync = await socket.emitWithAck("sync", {});
      if (!sync.ok) throw new Error(JSON.stringify(sync));
      const s = sync.conversations.find((c) => c.id === conversation.id)!;
      const list = await cluster.http(1, "GET", "/v1/conversations", { token });
      const l = (list.body.conversations as { id: string; lastReadSeq: number; unreadCount: number }[]).find((c) => c.id === conversation.id)!;
      return { sync: [s.lastReadSeq, s.unreadCount], list: [l.lastReadSeq, l.unreadCount] };
    };

    // Nothing read: bob owes alice's 4 messages, alice owes bob's 3; neither counts their own.
    expect(await numbers(bob, bobSocket)).toEqual({ sync: [0, 4], list: [0, 4] });
    expect(await numbers(alice, aliceSocket)).toEqual({ sync: [0, 3], list: [0, 3] });

    // Bob reads up to 3: left are seq 6 (alice's); 4, 5 and 7 are his own.
    const onOther = collect(bobOther, "unread", 1);
    const read = await bobSocket.emitWithAck("message:read", { conversationId: conversation.id, seq: 3 });
    expect(read).toEqual({ ok: true, lastReadSeq: 3, unreadCount: 1 });
    expect(await onOther).toEqual([{ conversationId: conversation.id, lastReadSeq: 3, unreadCount: 1 }]);
    expect(await numbers(bob, bobSocket)).toEqual({ sync: [3, 1], list: [3, 1] });
    const http = await cluster.http(0, "POST", `/v1/conversations/${conversation.id}/read`, { token: bob, body: { seq: 3 } });
    expect(http.body).toEqual({ lastReadSeq: 3, unreadCount: 1 });

    // Alice reads up to 4: left are bob's 5 and 7.
    expect(await aliceSocket.emitWithAck("message:read", { conversationId: conversation.id, seq: 4 })).toEqual({ ok: true, lastReadSeq: 4, unreadCount: 2 });
    expect(await numbers(alice, aliceSocket)).toEqual({ sync: [4, 2], list: [4, 2] });

    // Bob reads to the end: nothing is unread, whatever his own messages.
    expect(await bobSocket.emitWithAck("message:read", { conversationId: conversation.id, seq: 7 })).toEqual({ ok: true, lastReadSeq: 7, unreadCount: 0 });
    expect(await numbers(bob, bobSocket)).toEqual({ sync: [7, 0], list: [7, 0] });
  });
});

describe("refusals", () => {
  it("non-members (and unknown conversations) get FORBIDDEN for delivered and read, on sockets and HTTP, and nothing moves", async () => {
    const [alice, mallory] = await Promise.all([cluster.token("f-alice"), cluster.token("f-mallory")]);
    const conversation = await cluster.createConversation(alice, ["f-bob"]);
    const aliceSocket = await cluster.connect(0, alice);
    await send(aliceSocket, conversation.id, "secret");
    const heard = receipts(aliceSocket);
    const malSocket = await cluster.connect(1, mallory);
    for (const conversationId of [conversation.id, randomUUID()]) {
      expect(await malSocket.emitWithAck("message:delivered", { conversationId, seq: 1 })).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
      expect(await malSocket.emitWithAck("message:read", { conversationId, seq: 1 })).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
      const http = await cluster.http(1, "POST", `/v1/conversations/${conversationId}/read`, { token: mallory, body: { seq: 1 } });
      expect(http).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } });
    }
    expect(await malSocket.emitWithAck("message:delivered", { conversationId: conversation.id, seq: -1 })).toMatchObject({ ok: false, error: { code: "VALIDATION" } });
    expect(await malSocket.emitWithAck("message:delivered", { conversationId: "nope", seq: 1 } as never)).toMatchObject({ ok: false, error: { code: "VALIDATION" } });
    await new Promise((r) => setTimeout(r, 200));
    expect(heard).toEqual([]);
    const rows = await cluster.database.sql`select 1 from members where user_id = 'f-mallory'`;
    expect(rows).toHaveLength(0);
  });
});
