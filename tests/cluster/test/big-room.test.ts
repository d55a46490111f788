import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Registry } from "prom-client";
import { JobCatalog } from "@parley/bus";
import type { Message } from "@parley/protocol";
import { startCluster, type Cluster, type ClientSocket } from "./cluster.js";
import { ask, until } from "./presence-helpers.js";

// Issue 12, point 4: a 10,000-member conversation, with the deliveries and receipts one
// message causes counted. Above RECEIPT_ROOM_MAX_MEMBERS (default 100) a receipt goes only to
// the senders of the messages it covers; broadcast to the room as below that size, one message
// here would cost 10,000 delivered + 10,000 read receipts, each sent to every member's sockets.
// Members live in the database; a few hundred of them are connected (100 per gateway).

const MEMBERS = 10_000;
const CONNECTED_PER_GATEWAY = 100;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ gateways: 2, delivery: {} });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

async function counter(registry: Registry, name: string): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).reduce((n, v) => n + v.value, 0);
}

describe("a 10,000-member conversation", () => {
  it("one message reaches each connected member once, and every member's receipts reach only its sender", async () => {
    const alice = await cluster.token("big-alice", "Alice");
    const conversation = await cluster.createConversation(alice, [], "space", "everyone");
    // 9,999 more members, straight into the database (the member-count trigger counts them).
    await cluster.database.sql`
      insert into members (conversation_id, user_id)
      select ${conversation.id}, 'big-' || g from generate_series(1, ${MEMBERS - 1}) g`;
    const [counted] = await cluster.database.sql<{ member_count: number }[]>`
      select member_count from conversations where id = ${conversation.id}`;
    expect(counted?.member_count).toBe(MEMBERS);

    // Every socket's events, counted.
    const sockets: { user: string; socket: ClientSocket; messages: Message[]; receipts: number }[] = [];
    const track = (user: string, socket: ClientSocket) => {
      const entry = { user, socket, messages: [] as Message[], receipts: 0 };
      socket.on("message:new", (m) => entry.messages.push(m));
      socket.on("receipt", () => entry.receipts++);
      sockets.push(entry);
      return entry;
    };
    const aliceEntry = track("big-alice", await cluster.connect(0, alice));
    const receiptsBy = { delivered: 0, read: 0 };
    aliceEntry.socket.on("receipt", (r) => receiptsBy[r.kind]++);
    for (let g = 0; g < 2; g++) {
      const users = Array.from({ length: CONNECTED_PER_GATEWAY }, (_, i) => `big-${g * CONNECTED_PER_GATEWAY + i + 1}`);
      const connected = await Promise.all(users.map(async (u) => cluster.connect(g, await cluster.token(u))));
      connected.forEach((s, i) => track(users[i]!, s));
    }

    // One message: each connected member's socket hears it exactly once.
    const sent = await ask(aliceEntry.socket, "message:send", { conversationId: conversation.id, clientMessageId: randomUUID(), body: "hello, everyone" });
    expect(sent.ok).toBe(true);
    const message = (sent as { message: Message }).message;
    await until(() => sockets.every((s) => s.messages.length >= 1), 20_000, "every connected member hearing the message");
    expect(sockets.map((s) => s.messages.length)).toEqual(sockets.map(() => 1));

    // Every member's delivered watermark: the connected ones over their sockets (the gateway's
    // path), the others as the receipts jobs the gateways make of them.
    const connectedMembers = sockets.filter((s) => s !== aliceEntry);
    const acks = await Promise.all(connectedMembers.map((s) => ask(s.socket, "message:delivered", { conversationId: conversation.id, seq: message.seq })));
    expect(acks.every((a) => a.ok)).toBe(true);
    const connectedIds = new Set(connectedMembers.map((s) => s.user));
    const others = Array.from({ length: MEMBERS - 1 }, (_, i) => `big-${i + 1}`).filter((u) => !connectedIds.has(u));
    for (let i = 0; i < others.length; i += 5_000) {
      const receipts = others.slice(i, i + 5_000).map((userId) => ({ conversationId: conversation.id, userId, seq: message.seq }));
      await cluster.nodes[0]!.receiptsQueue.add("receipts", { receipts }, JobCatalog.receipts.options);
    }
    await until(() => receiptsBy.delivered >= MEMBERS - 1, 60_000, `alice hearing ${MEMBERS - 1} delivered receipts`);

    // The connected members read it: the gateway's path.
    const reads = await Promise.all(connectedMembers.map((s) => ask(s.socket, "message:read", { conversationId: conversation.id, seq: message.seq })));
    expect(reads.every((r) => r.ok)).toBe(true);
    await until(() => receiptsBy.read >= connectedMembers.length, 20_000, "alice hearing the read receipts");
    // Anything still on its way would arrive within this.
    await new Promise((r) => setTimeout(r, 500));

    // Counted: the sender hears each member's delivered receipt once and each read once; no
    // other socket hears any. Broadcast to the room, the sockets here alone would have heard
    // (9,999 + 200) × 201 ≈ 2,050,000.
    expect(receiptsBy).toEqual({ delivered: MEMBERS - 1, read: connectedMembers.length });
    const heardByOthers = connectedMembers.reduce((n, s) => n + s.receipts, 0);
    expect(heardByOthers).toBe(0);
    expect(await counter(cluster.deliveryRegistry, "parley_delivery_receipts_narrowed_total")).toBe(MEMBERS - 1);
    const gatewayNarrowed = (await Promise.all(cluster.nodes.map((n) => counter(n.registry, "parley_gateway_receipts_narrowed_total")))).reduce((a, b) => a + b, 0);
    expect(gatewayNarrowed).toBe(connectedMembers.length);
  }, 180_000);
});
