import { afterAll, beforeAll, expect, it } from "vitest";
import { collect, startCluster, type Cluster } from "./cluster.js";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ gateways: 2 });
});
afterAll(async () => {
  await cluster?.stop();
});

it("tells every member's live sockets, on every pod, when a conversation is created, renamed or its members change", async () => {
  const [alice, bob, carol] = await Promise.all([cluster.token("alice", "Alice"), cluster.token("bob", "Bob"), cluster.token("carol", "Carol")]);
  const bobSocket = await cluster.connect(1, bob);
  const carolSocket = await cluster.connect(0, carol);

  const created = collect(bobSocket, "conversation:updated", 1);
  const conversation = await cluster.createConversation(alice, ["bob"], "group", "plans");
  const [seenCreated] = await created;
  expect(seenCreated).toMatchObject({ id: conversation.id, title: "plans" });
  expect(seenCreated!.members!.map((m) => m.userId).sort()).toEqual(["alice", "bob"]);

  const renamed = collect(bobSocket, "conversation:updated", 1);
  expect((await cluster.http(1, "PATCH", `/v1/conversations/${conversation.id}`, { token: alice, body: { title: "trip" } })).status).toBe(200);
  expect((await renamed)[0]).toMatchObject({ id: conversation.id, title: "trip" });

  const carolAdded = collect(carolSocket, "conversation:updated", 1);
  const bobSeesCarol = collect(bobSocket, "conversation:updated", 1);
  expect((await cluster.http(0, "POST", `/v1/conversations/${conversation.id}/members`, { token: alice, body: { userIds: ["carol"] } })).status).toBe(200);
  for (const [update] of [await carolAdded, await bobSeesCarol]) {
    expect(update!.members!.map((m) => m.userId).sort()).toEqual(["alice", "bob", "carol"]);
  }

  const bobRemoved = collect(bobSocket, "conversation:updated", 1);
  expect((await cluster.http(0, "DELETE", `/v1/conversations/${conversation.id}/members/bob`, { token: alice })).status).toBe(204);
  expect((await bobRemoved)[0]!.members!.map((m) => m.userId).sort()).toEqual(["alice", "carol"]);
});
