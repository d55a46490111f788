import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ParleyClient } from "@parley/client";
import { fileStorage } from "@parley/client/node";
import { startCluster, type Cluster } from "./cluster.js";
import { clientFor, onlineState, startCutProxy, until } from "./client-helpers.js";

/** The SDK against a real cluster (two gateways, persister, Redis, Postgres): writing while offline. */
describe("client SDK: offline outbox", () => {
  let cluster: Cluster;
  const clients: ParleyClient[] = [];
  const proxies: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    cluster = await startCluster({ gateways: 2 });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(proxies.map((p) => p.close()));
    await cluster?.stop();
  });

  async function storedBodies(conversationId: string, senderId: string) {
    return cluster.database.sql<{ seq: number; body: string; client_message_id: string }[]>`
      select seq::int as seq, body, client_message_id from messages
      where conversation_id = ${conversationId} and sender_id = ${senderId} order by seq`;
  }

  it("offline, send 50, reconnect: all 50 stored once and shown to the other member once, in order", async () => {
    const proxy = await startCutProxy(cluster.url(0));
    proxies.push(proxy);
    const alice = clientFor(cluster, "off-alice", "Alice", { url: proxy.url, httpFallbackAfterMs: 0 });
    const bob = clientFor(cluster, "off-bob", "Bob", { url: cluster.url(1) });
    clients.push(alice, bob);
    await Promise.all([onlineState(alice), onlineState(bob)]);
    const conversation = await alice.conversations.create({ kind: "group", memberIds: ["off-bob"] });
    const bobView = bob.conversation(conversation.id);

    proxy.cut();
    await until(() => alice.state === "offline", "alice to notice the network is gone");
    const bodies = Array.from({ length: 50 }, (_, i) => `offline ${i + 1}`);
    const sent = bodies.map((body) => alice.send(conversation.id, body));
    // Optimistic at once: pending, with the user's own id and name, in order.
    expect(sent.every((m) => m.status === "pending" && m.senderId === "off-alice" && m.senderName === "Alice")).toBe(true);
    expect(alice.conversation(conversation.id).messages.map((m) => m.body)).toEqual(bodies);
    await new Promise((r) => setTimeout(r, 500));
    expect(sent.every((m) => m.status === "pending")).toBe(true);

    proxy.restore();
    const settled = await Promise.all(sent.map((m) => m.settled));
    expect(settled.map((m) => m.status)).toEqual(bodies.map(() => "sent"));

    const rows = await storedBodies(conversation.id, "off-alice");
    expect(rows.map((r) => r.body)).toEqual(bodies);
    expect(new Set(rows.map((r) => r.client_message_id)).size).toBe(50);
    expect(rows.map((r) => r.client_message_id)).toEqual(sent.map((m) => m.clientMessageId));

    await until(() => bobView.messages.length === 50, "bob to see 50 messages", 20_000);
    expect(bobView.messages.map((m) => m.body)).toEqual(bodies);
    expect(bobView.messages.map((m) => m.seq)).toEqual(rows.map((r) => r.seq));
    expect(bobView.unreadCount).toBe(50);
    // Alice's own view: the pending copies became the stored ones, one row each, same keys.
    const aliceMessages = alice.conversation(conversation.id).messages;
    expect(aliceMessages.map((m) => [m.body, m.status])).toEqual(bodies.map((b) => [b, "sent"]));
    expect(aliceMessages.map((m) => m.key)).toEqual(sent.map((m) => `off-alice/${m.clientMessageId}`));
    expect(alice.outbox()).toEqual([]);
  });

  it("when the socket cannot connect (WebSockets blocked), sends go over HTTP, each once", async () => {
    // The socket always dials a closed port, as behind a proxy that blocks WebSockets; HTTP to the gateway works.
    const alice = clientFor(cluster, "http-alice", "Alice", {
      url: cluster.url(0),
      httpFallbackAfterMs: 300,
      socketFactory: (_url, options) => io("http://127.0.0.1:9", options),
    });
    const bob = clientFor(cluster, "http-bob", "Bob", { url: cluster.url(1) });
    clients.push(alice, bob);
    await onlineState(bob);
    const conversation = await alice.conversations.create({ kind: "group", memberIds: ["http-bob"] });
    const sent = ["h1", "h2", "h3"].map((body) => alice.send(conversation.id, body));
    const settled = await Promise.all(sent.map((m) => m.settled));
    expect(settled.map((m) => m.status)).toEqual(["sent", "sent", "sent"]);
    expect(alice.state).not.toBe("online");
    expect((await storedBodies(conversation.id, "http-alice")).map((r) => r.body)).toEqual(["h1", "h2", "h3"]);
    const view = bob.conversation(conversation.id);
    await until(() => view.messages.length === 3, "bob to see the three");
    expect(view.messages.map((m) => m.body)).toEqual(["h1", "h2", "h3"]);
  });

  it("messages written before an app restart are sent by the next start (file outbox), once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "parley-outbox-"));
    try {
      const path = join(dir, "outbox.json");
      const owner = clientFor(cluster, "restart-alice", "Alice", { url: cluster.url(0) });
      clients.push(owner);
      await onlineState(owner);
      const conversation = await owner.conversations.create({ kind: "group", memberIds: ["restart-bob"] });
      await owner.close();

      // The app starts with the gateway out of reach, queues 5 and quits.
      const first = clientFor(cluster, "restart-alice", "Alice", { url: "http://127.0.0.1:9", storage: fileStorage(path), httpFallbackAfterMs: 0 });
      const queued = ["a", "b", "c", "d", "e"].map((body) => first.send(conversation.id, body));
      await until(() => first.outbox().length === 5 && first.outbox()[0]!.senderId === "restart-alice", "the outbox to hold 5");
      await new Promise((r) => setTimeout(r, 200)); // the file writes
      await first.close();

      const second = clientFor(cluster, "restart-alice", "Alice", { url: cluster.url(1), storage: fileStorage(path) });
      clients.push(second);
      await until(() => second.outbox().length === 0 && second.conversation(conversation.id).messages.length === 5, "the restarted app to send 5", 20_000);
      const rows = await storedBodies(conversation.id, "restart-alice");
      expect(rows.map((r) => r.body)).toEqual(["a", "b", "c", "d", "e"]);
      expect(rows.map((r) => r.client_message_id)).toEqual(queued.map((m) => m.clientMessageId));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
