import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionStateChange, Message, ParleyClient } from "@parley/client";
import { startCluster, type Cluster } from "./cluster.js";
import { clientFor, onlineState, until } from "./client-helpers.js";

/**
 * The SDK's recovery and lifecycle against a real cluster: a lost last message found three
 * ways, reopening at the newest page when far behind, the window cap, paging around a seq,
 * and disconnect()/connect() keeping views and outbox.
 */
describe("client SDK: recovery and lifecycle", () => {
  let cluster: Cluster;
  const clients: ParleyClient[] = [];
  beforeAll(async () => {
    // The delivery service applies delivered watermarks and sends the receipts.
    cluster = await startCluster({ gateways: 1, delivery: {} });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stop();
  });

  /** A client whose socket silently loses the live `message:new` of chosen bodies (as at-most-once pub/sub may). */
  function lossyClient(user: string, name: string, dropped: Set<string>, options: Parameters<typeof clientFor>[3] = {}): ParleyClient {
    const client = clientFor(cluster, user, name, {
      socketFactory: (url, opts) => {
        const socket = io(url, opts);
        const on = socket.on.bind(socket);
        socket.on = ((event: string, fn: (payload: unknown) => void) =>
          on(event, event === "message:new" ? (m: Message) => void (dropped.has(m.body ?? "") || fn(m)) : fn)) as typeof socket.on;
        return socket;
      },
      ...options,
    });
    clients.push(client);
    return client;
  }

  async function sendAll(client: ParleyClient, conversationId: string, bodies: string[]): Promise<void> {
    const sent = bodies.map((b) => client.send(conversationId, b));
    const settled = await Promise.all(sent.map((m) => m.settled));
    expect(settled.every((m) => m.status === "sent")).toBe(true);
  }

  it("a lost last message is found from another member's receipt seq", async () => {
    const dropped = new Set(["last"]);
    const alice = clientFor(cluster, "lr-alice", "Alice");
    const carol = clientFor(cluster, "lr-carol", "Carol");
    clients.push(alice, carol);
    const bob = lossyClient("lr-bob", "Bob", dropped);
    await Promise.all([onlineState(alice), onlineState(bob), onlineState(carol)]);
    const { id } = await alice.conversations.create({ kind: "group", memberIds: ["lr-bob", "lr-carol"] });
    const view = bob.conversation(id);
    await sendAll(alice, id, ["first"]);
    await until(() => view.messages.length === 1, "bob to see the first");
    await sendAll(alice, id, ["last"]);
    // Nothing else is sent: only Carol's delivered receipt (seq 2) tells Bob that seq 2 exists.
    await until(() => view.messages.length === 2, "bob to fetch the lost last message");
    expect(view.messages.map((m) => [m.seq, m.body])).toEqual([
      [1, "first"],
      [2, "last"],
    ]);
    expect(view.unreadCount).toBe(2);
  });

  it("a lost last message is found from conversation:updated's lastSeq", async () => {
    const dropped = new Set(["last"]);
    const alice = clientFor(cluster, "lu-alice", "Alice");
    clients.push(alice);
    const bob = lossyClient("lu-bob", "Bob", dropped);
    await Promise.all([onlineState(alice), onlineState(bob)]);
    const { id } = await alice.conversations.create({ kind: "group", memberIds: ["lu-bob"] });
    const view = bob.conversation(id);
    await sendAll(alice, id, ["first"]);
    await until(() => view.messages.length === 1, "bob to see the first");
    await sendAll(alice, id, ["last"]);
    await new Promise((r) => setTimeout(r, 300));
    expect(view.messages.length).toBe(1); // lost, and no receipt from a third member here
    await alice.conversations.rename(id, "Renamed");
    await until(() => view.messages.length === 2, "bob to fetch the message the rename's lastSeq names");
    expect(view.messages.at(-1)!.body).toBe("last");
  });

  it("a lost last message is found by sync() (what an app calls when it comes back to the foreground)", async () => {
    const dropped = new Set(["last"]);
    const alice = clientFor(cluster, "ls-alice", "Alice");
    clients.push(alice);
    const bob = lossyClient("ls-bob", "Bob", dropped);
    await Promise.all([onlineState(alice), onlineState(bob)]);
    const { id } = await alice.conversations.create({ kind: "group", memberIds: ["ls-bob"] });
    const view = bob.conversation(id);
    await sendAll(alice, id, ["first"]);
    await until(() => view.messages.length === 1, "bob to see the first");
    await sendAll(alice, id, ["last"]);
    await new Promise((r) => setTimeout(r, 300));
    expect(view.messages.length).toBe(1);
    bob.sync();
    await until(() => view.messages.length === 2, "the sync to bring the lost last message");
    expect(view.messages.at(-1)!.body).toBe("last");
    expect(view.unreadCount).toBe(2);
  });

  it("disconnect() keeps views and outbox and sends nothing; far behind on connect(): discontinuity and the newest page", async () => {
    const alice = clientFor(cluster, "dc-alice", "Alice");
    clients.push(alice);
    const bob = clientFor(cluster, "dc-bob", "Bob", { pageSize: 5, maxCatchUpMessages: 8, httpFallbackAfterMs: 100 });
    clients.push(bob);
    await Promise.all([onlineState(alice), onlineState(bob)]);
    const { id } = await alice.conversations.create({ kind: "group", memberIds: ["dc-bob"] });
    const view = bob.conversation(id);
    await sendAll(alice, id, ["m1", "m2"]);
    await until(() => view.messages.length === 2, "bob to see two");

    const changes: ConnectionStateChange[] = [];
    bob.on("state", (c) => changes.push(c));
    const gaps: { conversationId: string; fromSeq: number; toSeq: number }[] = [];
    bob.on("discontinuity", (d) => gaps.push(d));
    bob.disconnect();
    expect(bob.state).toBe("offline");
    expect(changes).toEqual([{ current: "offline", previous: "online", reason: "disconnect" }]);
    expect(bob.stateChange).toEqual(changes[0]);

    const queued = bob.send(id, "from bob while disconnected");
    await sendAll(alice, id, Array.from({ length: 20 }, (_, i) => `m${i + 3}`));
    // Longer than the HTTP fallback delay: a disconnected client still sends nothing.
    await new Promise((r) => setTimeout(r, 500));
    expect(queued.status).toBe("pending");
    expect(bob.outbox().map((o) => o.clientMessageId)).toEqual([queued.clientMessageId]);
    expect(view.messages.map((m) => m.body)).toEqual(["m1", "m2", "from bob while disconnected"]);
    expect(bob.state).toBe("offline"); // no reconnection of its own

    bob.connect();
    await onlineState(bob);
    expect(changes.slice(1, 3)).toMatchObject([
      { current: "connecting", previous: "offline", reason: "start" },
      { current: "online", previous: "connecting", reason: "ready" },
    ]);
    expect((await queued.settled).status).toBe("sent");
    // 21 messages behind (> 8): reopened at the newest page instead of paging through.
    await until(() => gaps.length === 1, "the discontinuity");
    expect(gaps[0]).toMatchObject({ conversationId: id, fromSeq: 2 });
    await until(() => view.lastSeq === 23, "the newest page with bob's own message");
    const bodies = view.messages.map((m) => m.body);
    expect(bodies.at(-1)).toBe("from bob while disconnected");
    expect(bodies).not.toContain("m3");
    expect(view.hasOlder).toBe(true);
    expect(view.hasNewer).toBe(false);
    // The skipped messages are still there when scrolling back.
    while ((view.messages[0]!.seq ?? 0) > 1) expect(await view.loadOlder()).toBeGreaterThan(0);
    expect(view.messages.filter((m) => m.status === "sent").map((m) => m.seq)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    // The server's read state stands: alice's 22 unread (bob's own not counted).
    expect(view.unreadCount).toBe(22);
  });

  it("the window cap: following the newest drops the oldest; paging back drops the newest, and loadNewer returns", async () => {
    const alice = clientFor(cluster, "cap-alice", "Alice");
    clients.push(alice);
    // pageSize 5: the cap is at least 10 (two pages).
    const bob = clientFor(cluster, "cap-bob", "Bob", { pageSize: 5, maxWindowMessages: 10 });
    clients.push(bob);
    await Promise.all([onlineState(alice), onlineState(bob)]);
    const { id } = await alice.conversations.create({ kind: "group", memberIds: ["cap-bob"] });
    const view = bob.conversation(id);
    await sendAll(alice, id, Array.from({ length: 25 }, (_, i) => `m${i + 1}`));
    await until(() => view.lastSeq === 25, "bob to follow to 25");
    expect(view.messages.map((m) => m.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(view.hasOlder).toBe(true);
    expect(view.hasNewer).toBe(false);

    await view.loadOlder(); // 11..15 in, 21..25 out
    expect(view.messages.map((m) => m.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(view.hasNewer).toBe(true);
    // Detached: a live message is announced and counted, not added.
    const announced: string[] = [];
    bob.on("message", (m) => announced.push(m.body ?? ""));
    await sendAll(alice, id, ["live"]);
    await until(() => announced.includes("live"), "the live message announced");
    expect(view.messages.length).toBe(10);
    expect(view.newestSeq).toBe(26);

    while (view.hasNewer) await view.loadNewer();
    expect(view.messages.map((m) => m.seq)).toEqual([17, 18, 19, 20, 21, 22, 23, 24, 25, 26]);
    expect(view.messages.at(-1)!.body).toBe("live");
    expect(announced.filter((b) => b === "live")).toHaveLength(1); // not announced again when paged in
    await sendAll(alice, id, ["after"]);
    await until(() => view.lastSeq === 27, "following live again");
  });

  it("loadAround(seq) opens a search hit in context; loadOlder/loadNewer page from there without gaps or duplicates", async () => {
    const alice = clientFor(cluster, "ar-alice", "Alice");
    clients.push(alice);
    const bob = clientFor(cluster, "ar-bob", "Bob", { pageSize: 10 });
    clients.push(bob);
    await Promise.all([onlineState(alice), onlineState(bob)]);
    const { id } = await alice.conversations.create({ kind: "group", memberIds: ["ar-bob"] });
    const view = bob.conversation(id);
    await sendAll(alice, id, Array.from({ length: 40 }, (_, i) => `m${i + 1}`));
    await until(() => view.lastSeq === 40, "bob to follow to 40");

    await view.loadAround(15);
    expect(view.messages.map((m) => m.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(view.hasNewer).toBe(true);
    expect(view.hasOlder).toBe(true);
    await view.loadOlder();
    expect(view.messages[0]!.seq).toBe(1);
    expect(view.hasOlder).toBe(false);
    while (view.hasNewer) await view.loadNewer();
    const seqs = view.messages.map((m) => m.seq);
    expect(seqs.at(-1)).toBe(40);
    expect(seqs).toEqual([...seqs].sort((a, b) => a! - b!));
    expect(new Set(seqs).size).toBe(seqs.length);
    // Near the end: the window reaches it at once.
    await view.loadAround(38);
    expect(view.hasNewer).toBe(false);
    expect(view.messages.at(-1)!.seq).toBe(40);
  });
});
