import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ParleyClient } from "@parley/client";
import { startCluster, type Cluster } from "./cluster.js";
import { clientFor, onlineState, until } from "./client-helpers.js";

/** The rest of the contract through the SDK's typed API, against a real cluster with the delivery service. */
describe("client SDK: history, receipts, unread, typing, presence, changes", () => {
  let cluster: Cluster;
  let alice: ParleyClient;
  let bob: ParleyClient;
  let conversationId: string;
  beforeAll(async () => {
    cluster = await startCluster({ gateways: 2, delivery: {} });
    alice = clientFor(cluster, "feat-alice", "Alice", { url: cluster.url(0) });
    await onlineState(alice);
    conversationId = (await alice.conversations.create({ kind: "group", memberIds: ["feat-bob"], title: "Features" })).id;
    // 30 messages before bob's client exists.
    for (let i = 1; i <= 30; i++) await alice.send(conversationId, `h${i}`).settled;
    bob = clientFor(cluster, "feat-bob", "Bob", { url: cluster.url(1), pageSize: 10 });
    await onlineState(bob);
  });
  afterAll(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
    await cluster?.stop();
  });

  it("the first sync shows the newest page; loadOlder pages back to the first message", async () => {
    const view = bob.conversation(conversationId);
    await until(() => view.messages.length === 10, "the newest page");
    expect(view.messages.map((m) => m.body)).toEqual(Array.from({ length: 10 }, (_, i) => `h${i + 21}`));
    expect(view.hasOlder).toBe(true);
    expect(view.unreadCount).toBe(30);
    expect(await view.loadOlder()).toBe(10);
    expect(await view.loadOlder(15)).toBe(10);
    expect(view.hasOlder).toBe(false);
    expect(await view.loadOlder()).toBe(0);
    expect(view.messages.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it("conversations.list carries unread counts; markShown sends the read watermark and the sender sees the read receipt", async () => {
    const list = await bob.conversations.list();
    expect(list.find((c) => c.id === conversationId)).toMatchObject({ unreadCount: 30, title: "Features" });
    const view = bob.conversation(conversationId);
    const aliceView = alice.conversation(conversationId);
    await aliceView.members();
    view.markShown(25);
    expect(view.unreadCount).toBe(5); // at once, locally
    await until(() => aliceView.receiptFor(25).readBy.includes("feat-bob"), "alice to see bob's read receipt");
    expect(aliceView.receiptFor(26).readBy).toEqual([]);
    // Delivered watermarks were sent when the messages reached bob; they travel through the
    // delivery service's batched receipts queue, so they may come after the read one.
    await until(() => aliceView.receiptFor(30).deliveredTo.includes("feat-bob"), "alice to see bob's delivered receipt");
    const server = await cluster.http(1, "GET", "/v1/conversations", { token: await cluster.token("feat-bob") });
    expect(server.body.conversations.find((c: { id: string }) => c.id === conversationId)).toMatchObject({ lastReadSeq: 25, unreadCount: 5 });
  });

  it("typing starts on input, reaches the other member, and stops after 2 s idle", async () => {
    const view = bob.conversation(conversationId);
    const typingSeen: string[][] = [];
    const off = bob.on("typing", (t) => t.conversationId === conversationId && typingSeen.push(t.typists.map((x) => x.userName)));
    // Keystrokes every 300 ms, as a user types, until bob sees it (a gateway under load sheds
    // typing first, by design; continued input renews it).
    const aliceView = alice.conversation(conversationId);
    let lastInput = Date.now();
    const deadline = Date.now() + 15_000;
    while (view.typing.length === 0 && Date.now() < deadline) {
      aliceView.input();
      lastInput = Date.now();
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(view.typing).toEqual([{ userId: "feat-alice", userName: "Alice" }]);
    await until(() => view.typing.length === 0, "alice's typing to stop", 10_000);
    expect(Date.now() - lastInput).toBeGreaterThanOrEqual(1_900);
    expect(typingSeen[0]).toEqual(["Alice"]);
    expect(typingSeen.at(-1)).toEqual([]);
    off();
  });

  it("presence: bob sees alice online (the answer is a `presence` event when it is news, once), then carol offline when her client closes", async () => {
    const heard: string[] = [];
    const offPresence = bob.on("presence", (e) => heard.push(`${e.userId}:${e.status}`));
    const known = bob.presenceOf("feat-alice");
    const [entry] = await bob.presence(["feat-alice"]);
    expect(entry).toMatchObject({ userId: "feat-alice", status: "online" });
    // News to this client: emitted (a hook reading presenceOf re-renders); the same answer again is not.
    expect(heard.filter((h) => h.startsWith("feat-alice"))).toEqual(known?.status === "online" ? [] : ["feat-alice:online"]);
    await bob.presence(["feat-alice"]);
    expect(heard.filter((h) => h.startsWith("feat-alice")).length).toBeLessThanOrEqual(1);
    offPresence();
    // Presence goes to users who share a conversation at the time: the conversation first.
    await cluster.createConversation(await cluster.token("feat-carol", "Carol"), ["feat-bob"], "direct");
    const carol = clientFor(cluster, "feat-carol", "Carol", { url: cluster.url(0) });
    await onlineState(carol);
    await until(() => bob.presenceOf("feat-carol")?.status === "online", "carol online", 10_000);
    await carol.close();
    await until(() => bob.presenceOf("feat-carol")?.status === "offline", "carol offline", 15_000);
  });

  it("edits, deletions and reactions reach the other member's view", async () => {
    const out = await alice.send(conversationId, "typo").settled;
    const id = out.message!.id;
    const view = bob.conversation(conversationId);
    await until(() => view.messages.some((m) => m.id === id), "bob to get the message");
    await alice.edit(id, "fixed");
    await until(() => view.messages.find((m) => m.id === id)?.body === "fixed", "the edit");
    await bob.react(id, "👍");
    await until(() => alice.conversation(conversationId).messages.find((m) => m.id === id)?.reactions?.[0]?.userIds.includes("feat-bob") === true, "the reaction");
    await bob.unreact(id, "👍");
    await until(() => alice.conversation(conversationId).messages.find((m) => m.id === id)?.reactions === undefined, "the reaction removed");
    await alice.delete(id);
    await until(() => view.messages.find((m) => m.id === id)?.deletedAt !== undefined, "the tombstone");
    expect(view.messages.find((m) => m.id === id)?.body).toBeNull();
    await expect(bob.edit(id, "not mine")).rejects.toMatchObject({ code: expect.stringMatching(/FORBIDDEN|CONFLICT/) });
  });

  it("conversation changes reach members as conversation events; a new conversation's view starts in place", async () => {
    const seen: { id: string; title: string | null }[] = [];
    const off = bob.on("conversation", (c) => seen.push({ id: c.id, title: c.title }));
    await alice.conversations.rename(conversationId, "Renamed");
    await until(() => seen.some((c) => c.id === conversationId && c.title === "Renamed"), "the rename");
    const fresh = await alice.conversations.create({ kind: "group", memberIds: ["feat-bob"], title: "New" });
    await until(() => seen.some((c) => c.id === fresh.id), "the new conversation");
    await alice.send(fresh.id, "first").settled;
    const view = bob.conversation(fresh.id);
    await until(() => view.messages.length === 1, "the first message of the new conversation");
    expect(view.messages[0]).toMatchObject({ seq: 1, body: "first", own: false, status: "sent" });
    expect(view.hasOlder).toBe(false);
    off();
  });

  it("a conversation joined later with its history, or listed before the first sync, opens at its newest page", async () => {
    const joined = await alice.conversations.create({ kind: "group", memberIds: [], title: "Joined later" });
    for (let i = 1; i <= 15; i++) await alice.send(joined.id, `j${i}`).settled;
    const newest = Array.from({ length: 10 }, (_, i) => `j${i + 6}`);
    // Added after the sync: the conversation event places bob's view, which fetches the page itself.
    await alice.conversations.addMembers(joined.id, ["feat-bob"]);
    const view = bob.conversation(joined.id);
    await until(() => view.loaded && view.messages.length === 10, "the joined conversation's newest page");
    expect(view.messages.map((m) => m.body)).toEqual(newest);
    expect(view.hasOlder).toBe(true);

    // Another device of bob lists its conversations as it starts, before its first sync.
    const device = clientFor(cluster, "feat-bob", "Bob", { url: cluster.url(0), pageSize: 10 });
    try {
      await device.conversations.list();
      const listed = device.conversation(joined.id);
      await until(() => listed.loaded && listed.messages.length === 10, "the listed conversation's newest page");
      expect(listed.messages.map((m) => m.body)).toEqual(newest);
      expect(device.conversation(conversationId).messages.length).toBe(10);
    } finally {
      await device.close();
    }
  });

  it("a message to a conversation the user is not in ends as failed with FORBIDDEN", async () => {
    const other = await cluster.createConversation(await cluster.token("feat-dave"), ["feat-erin"]);
    const out = await bob.send(other.id, "let me in").settled;
    expect(out).toMatchObject({ status: "failed", error: { code: "FORBIDDEN" } });
    expect(bob.outbox().map((o) => o.clientMessageId)).toEqual([out.clientMessageId]);
    await bob.discard(out.clientMessageId);
    expect(bob.outbox()).toEqual([]);
  });
});
