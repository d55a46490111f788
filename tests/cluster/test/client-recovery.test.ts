import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionState, Message, ParleyClient } from "@parley/client";
import { signToken } from "@parley/testkit";
import { SECRET, startCluster, type Cluster } from "./cluster.js";
import { clientFor, onlineState, startCutProxy, until } from "./client-helpers.js";

/** The SDK against a real cluster: a lost live event, a gateway that dies, a token that expires. */
describe("client SDK: recovery", () => {
  let cluster: Cluster;
  const clients: ParleyClient[] = [];
  beforeAll(async () => {
    cluster = await startCluster({ gateways: 2 });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stop();
  });

  it("a message:new lost on the way leaves a seq gap that the store fills by itself", async () => {
    const dropped = new Set<string>();
    const alice = clientFor(cluster, "gap-alice", "Alice", { url: cluster.url(0) });
    // Bob's socket loses chosen live messages, as Redis pub/sub (at-most-once) may.
    const bob = clientFor(cluster, "gap-bob", "Bob", {
      url: cluster.url(1),
      socketFactory: (url, options) => {
        const socket = io(url, options);
        const on = socket.on.bind(socket);
        socket.on = ((event: string, fn: (payload: unknown) => void) =>
          on(event, event === "message:new" ? (m: Message) => void (dropped.has(m.body ?? "") || fn(m)) : fn)) as typeof socket.on;
        return socket;
      },
    });
    clients.push(alice, bob);
    await Promise.all([onlineState(alice), onlineState(bob)]);
    const conversation = await alice.conversations.create({ kind: "group", memberIds: ["gap-bob"] });
    const view = bob.conversation(conversation.id);
    const seen: string[] = [];
    bob.on("message", (m) => seen.push(m.body ?? ""));

    await alice.send(conversation.id, "one").settled;
    await until(() => view.messages.length === 1, "bob to see one");
    dropped.add("two");
    await alice.send(conversation.id, "two").settled;
    await new Promise((r) => setTimeout(r, 300));
    expect(view.messages.map((m) => m.body)).toEqual(["one"]); // "two" never arrived live
    await alice.send(conversation.id, "three").settled;

    await until(() => view.messages.length === 3, "bob's store to fill the gap");
    expect(view.messages.map((m) => [m.seq, m.body])).toEqual([
      [1, "one"],
      [2, "two"],
      [3, "three"],
    ]);
    // "three" came live first and revealed the gap; "two" was fetched after it.
    expect(seen).toEqual(["one", "three", "two"]);
    expect(view.lastSeq).toBe(3);
    expect(view.unreadCount).toBe(3);
  });

  it("a gateway killed mid-conversation: the client moves to the other one, nothing lost or duplicated", async () => {
    const victim = await startCluster({ gateways: 2 });
    try {
      const proxy = await startCutProxy(victim.url(0));
      const states: ConnectionState[] = [];
      const alice = clientFor(victim, "kill-alice", "Alice", { url: [proxy.url, victim.url(1)], ackTimeoutMs: 2_000 });
      const bob = clientFor(victim, "kill-bob", "Bob", { url: victim.url(1) });
      clients.push(alice, bob);
      alice.on("state", (s) => states.push(s.current));
      await Promise.all([onlineState(alice), onlineState(bob)]);
      const conversation = await alice.conversations.create({ kind: "group", memberIds: ["kill-bob"] });
      const bobView = bob.conversation(conversation.id);

      const bodies = Array.from({ length: 40 }, (_, i) => `m${i + 1}`);
      const sent = [];
      for (const [i, body] of bodies.entries()) {
        sent.push(alice.send(conversation.id, body));
        if (i === 20) {
          // The pod vanishes: connections reset without a goodbye, then the process is gone.
          proxy.cut();
          await victim.nodes[0]!.gateway.close();
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      const settled = await Promise.all(sent.map((m) => m.settled));
      expect(settled.every((m) => m.status === "sent")).toBe(true);
      expect(states).toContain("offline");
      expect(alice.state).toBe("online");

      const rows = await victim.database.sql<{ body: string; seq: number }[]>`
        select body, seq::int as seq from messages where conversation_id = ${conversation.id} order by seq`;
      expect(rows.map((r) => r.body)).toEqual(bodies);
      await until(() => bobView.messages.length === 40, "bob to see all 40");
      expect(bobView.messages.map((m) => m.body)).toEqual(bodies);
      expect(alice.conversation(conversation.id).messages.map((m) => m.body)).toEqual(bodies);
      await proxy.close();
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await victim.stop();
    }
  });

  it("a short-lived token (6 s) is refreshed with auth:refresh before exp: the session never drops", async () => {
    let issued = 0;
    const states: ConnectionState[] = [];
    const alice = clientFor(cluster, "exp-alice", "Alice", {
      url: cluster.url(0),
      getToken: () => {
        issued++;
        return signToken({ sub: "exp-alice", name: "Alice", secret: SECRET, expiresInSeconds: 6 });
      },
    });
    clients.push(alice);
    alice.on("state", (s) => states.push(s.current));
    await onlineState(alice);
    const conversation = await alice.conversations.create({ kind: "group", memberIds: [] });
    // Over two lifetimes (refreshes at two thirds of each, 2 s before exp): without
    // auth:refresh the gateway would have said session:expired twice.
    await new Promise((r) => setTimeout(r, 13_000));
    expect(states.filter((s) => s !== "online")).toEqual([]);
    expect(alice.state).toBe("online");
    expect(issued).toBeGreaterThanOrEqual(3);
    const out = await alice.send(conversation.id, "still here").settled;
    expect(out.status).toBe("sent");
  });

  it("a token that expired while away is replaced at the reconnection (session:expired, then a fresh token)", async () => {
    let issued = 0;
    const states: ConnectionState[] = [];
    // getToken runs before createClient returns: it finds the client through this box.
    const box: { client?: ParleyClient } = {};
    const client = (box.client = clientFor(cluster, "exp-bob", "Bob", {
      url: cluster.url(1),
      // The refresh comes too late (the identity provider answers slowly while the session is
      // up, longer than the gateway's JWT_CLOCK_TOLERANCE_S of 5 s past exp): the server ends
      // the session, and the client comes back with a new token.
      refreshBeforeExpiryMs: 0,
      getToken: async () => {
        issued++;
        if (box.client?.state === "online") await new Promise((r) => setTimeout(r, 6_500));
        return signToken({ sub: "exp-bob", name: "Bob", secret: SECRET, expiresInSeconds: 2 });
      },
    }));
    clients.push(client);
    client.on("state", (s) => states.push(s.current));
    await onlineState(client);
    // The session ends JWT_CLOCK_TOLERANCE_S (5 s) after the token's exp.
    await until(() => states.includes("offline") && client.state === "online", "an expiry and a reconnection", 30_000);
    expect(issued).toBeGreaterThanOrEqual(2);
  });
});
