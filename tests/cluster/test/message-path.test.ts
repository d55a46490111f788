import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, startCluster, type Cluster } from "./cluster.js";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ gateways: 2 });
});
afterAll(async () => {
  await cluster?.stop();
});

describe("the message path across two gateways", () => {
  it("acks only once the row is committed, and delivers to every device of every member on every pod", async () => {
    const [alice, bob] = await Promise.all([cluster.token("alice", "Alice"), cluster.token("bob", "Bob")]);
    const conversation = await cluster.createConversation(alice, ["bob"]);
    const aliceSocket = await cluster.connect(0, alice);
    const aliceSecondDevice = await cluster.connect(1, alice);
    const bobSocket = await cluster.connect(1, bob);

    const deliveries = Promise.all([aliceSocket, aliceSecondDevice, bobSocket].map((s) => collect(s, "message:new", 1)));
    const clientMessageId = randomUUID();
    const ack = await aliceSocket.emitWithAck("message:send", { conversationId: conversation.id, clientMessageId, body: "hello bob" });
    if (!ack.ok) throw new Error(JSON.stringify(ack));
    // Durable at ack time: the row is readable straight away.
    const rows = await cluster.database.sql`select seq, body, sender_id from messages where id = ${ack.message.id}`;
    expect(rows).toEqual([{ seq: 1, body: "hello bob", sender_id: "alice" }]);
    expect(ack).toMatchObject({ duplicate: false, message: { seq: 1, senderId: "alice", senderName: "Alice", clientMessageId, kind: "text" } });

    for (const [message] of await deliveries) expect(message).toEqual(ack.message);
  });

  it("answers every retry, over any gateway or HTTP, with the same stored message", async () => {
    const alice = await cluster.token("alice", "Alice");
    const conversation = await cluster.createConversation(alice, ["carol"]);
    const [s0, s1] = await Promise.all([cluster.connect(0, alice), cluster.connect(1, alice)]);
    const clientMessageId = randomUUID();
    const payload = { conversationId: conversation.id, clientMessageId, body: "once" };

    const answers = await Promise.all([
      s0.emitWithAck("message:send", payload),
      s1.emitWithAck("message:send", payload),
      cluster.http(1, "POST", `/v1/conversations/${conversation.id}/messages`, { token: alice, body: { clientMessageId, body: "once" } }),
    ]);
    const [a, b, http] = answers;
    if (!a.ok || !b.ok) throw new Error(JSON.stringify(answers));
    expect(http.status).toBe(201);
    expect(b.message).toEqual(a.message);
    expect(http.body.message).toEqual(a.message);
    expect([a.duplicate, b.duplicate, http.body.duplicate].filter((d) => !d)).toHaveLength(1);

    const later = await s1.emitWithAck("message:send", payload);
    expect(later).toEqual({ ok: true, message: a.message, duplicate: true });
    const [{ n }] = await cluster.database.sql<[{ n: number }]>`select count(*)::int as n from messages where client_message_id = ${clientMessageId}`;
    expect(n).toBe(1);
  });

  it("refuses a reused clientMessageId with other content as CONFLICT and stores nothing", async () => {
    const alice = await cluster.token("alice", "Alice");
    const conversation = await cluster.createConversation(alice, ["dave"]);
    const other = await cluster.createConversation(alice, ["erin"]);
    const socket = await cluster.connect(0, alice);
    const clientMessageId = randomUUID();
    const first = await socket.emitWithAck("message:send", { conversationId: conversation.id, clientMessageId, body: "original" });
    expect(first.ok).toBe(true);
    const changedBody = await socket.emitWithAck("message:send", { conversationId: conversation.id, clientMessageId, body: "changed" });
    const changedConversation = await socket.emitWithAck("message:send", { conversationId: other.id, clientMessageId, body: "original" });
    expect(changedBody).toMatchObject({ ok: false, error: { code: "CONFLICT" } });
    expect(changedConversation).toMatchObject({ ok: false, error: { code: "CONFLICT" } });
    const seqs = await cluster.database.sql`select id, last_seq from conversations where id in (${conversation.id}, ${other.id}) order by last_seq`;
    expect(seqs.map((r) => r.last_seq)).toEqual([0, 1]);
  });

  it("gives gap-free seqs under concurrent senders on both pods", async () => {
    const tokens = await Promise.all(["u1", "u2", "u3", "u4"].map((u) => cluster.token(u)));
    const conversation = await cluster.createConversation(tokens[0]!, ["u2", "u3", "u4"]);
    const sockets = await Promise.all(tokens.map((t, i) => cluster.connect(i % 2, t)));
    const acks = await Promise.all(
      sockets.flatMap((s) =>
        Array.from({ length: 25 }, (_, k) =>
          s.emitWithAck("message:send", { conversationId: conversation.id, clientMessageId: randomUUID(), body: `m${k}` }),
        ),
      ),
    );
    const seqs = acks.map((a) => (a.ok ? a.message.seq : -1)).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it("lets a client that was away catch up by cursor with sync, and page history", async () => {
    const [alice, bob] = await Promise.all([cluster.token("alice", "Alice"), cluster.token("bob2", "Bob")]);
    const conversation = await cluster.createConversation(alice, ["bob2"]);
    const aliceSocket = await cluster.connect(0, alice);
    for (let i = 1; i <= 12; i++) {
      const ack = await aliceSocket.emitWithAck("message:send", { conversationId: conversation.id, clientMessageId: randomUUID(), body: `n${i}` });
      expect(ack.ok).toBe(true);
    }
    const bobSocket = await cluster.connect(1, bob);
    const synced = await bobSocket.emitWithAck("sync", { cursors: { [conversation.id]: 5 }, limit: 4 });
    if (!synced.ok) throw new Error(JSON.stringify(synced));
    const entry = synced.conversations.find((c) => c.id === conversation.id)!;
    expect(entry).toMatchObject({ lastSeq: 12, lastReadSeq: 0, unreadCount: 12, hasMore: true });
    expect(entry.messages.map((m) => m.seq)).toEqual([6, 7, 8, 9]);

    const newest = await bobSocket.emitWithAck("sync", { limit: 3 });
    if (!newest.ok) throw new Error(JSON.stringify(newest));
    expect(newest.conversations.find((c) => c.id === conversation.id)!.messages.map((m) => m.seq)).toEqual([10, 11, 12]);

    const page = await bobSocket.emitWithAck("messages:history", { conversationId: conversation.id, beforeSeq: 10, limit: 5 });
    expect(page).toMatchObject({ ok: true, hasMore: true });
    if (page.ok) expect(page.messages.map((m) => m.seq)).toEqual([5, 6, 7, 8, 9]);
    const forwards = await cluster.http(0, "GET", `/v1/conversations/${conversation.id}/messages?afterSeq=10`, { token: bob });
    expect(forwards.status).toBe(200);
    expect(forwards.body.messages.map((m: { seq: number }) => m.seq)).toEqual([11, 12]);
    expect(forwards.body.hasMore).toBe(false);

    // The sender's own messages are never unread for them.
    const aliceSync = await aliceSocket.emitWithAck("sync", { cursors: { [conversation.id]: 12 } });
    if (aliceSync.ok) expect(aliceSync.conversations.find((c) => c.id === conversation.id)!.unreadCount).toBe(0);
  });
});
