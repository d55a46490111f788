import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { ParleyClient } from "@parley/client";
import type { Message } from "@parley/protocol";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startRedis, type ServerHandle } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";
import { clientFor, onlineState, until } from "./client-helpers.js";
import { startCluster, type Cluster } from "./cluster.js";

// A gateway whose Socket.IO adapter loses its Redis subscription for a while hears nothing of
// the cluster meanwhile: messages and the room joins other pods ask of it. When the
// subscription is back, its sockets' rooms are re-checked and they are told session:resync.
// A Redis of this file's own: the test refuses new connections to it for a while.
let redis: ServerHandle;
let admin: Redis;
let cluster: Cluster;
const clients: ParleyClient[] = [];

beforeAll(async () => {
  redis = await startRedis({ infra: "local" });
  admin = new Redis(redis.url);
  cluster = await startCluster({ gateways: 2, redisUrl: redis.url, adminDatabaseUrl: testInfra().databaseUrl });
}, 60_000);
afterAll(async () => {
  await admin?.config("SET", "maxclients", "10000").catch(() => {});
  await Promise.allSettled(clients.map((c) => c.close()));
  await cluster?.stop();
  admin?.disconnect();
  await redis?.close();
});

/** Drops gateway 1's adapter subscriber and keeps it from reconnecting until `restore()`. */
async function cutAdapterSubscriber(gateway: number) {
  const list = (await admin.client("LIST")) as string;
  const lines = list.trim().split("\n");
  const victim = lines.find((l) => / name=parley:gw\d+:adapter /.test(l) && l.includes(` name=parley:gw${gateway}:adapter `));
  const id = victim && / id=(\d+) /.exec(` ${victim}`)?.[1];
  if (!id) throw new Error(`no adapter subscriber of gw${gateway} in CLIENT LIST`);
  // Full once it is gone: every connection stays, a new one (its reconnection) is refused.
  await admin.config("SET", "maxclients", String(lines.length - 1));
  await admin.client("KILL", "ID", id);
  return { restore: () => admin.config("SET", "maxclients", "10000") };
}

it("after its adapter subscriber is cut and comes back, a gateway's clients end with every message and hear rooms joined meanwhile", async () => {
  const alice = clientFor(cluster, "alice", "Alice", { url: cluster.url(0) });
  const bob = clientFor(cluster, "bob", "Bob", { url: cluster.url(1) });
  clients.push(alice, bob);
  const aliceToken = await cluster.token("alice", "Alice");
  const conv = await cluster.createConversation(aliceToken, ["bob"], "group", "before");
  await Promise.all([onlineState(alice), onlineState(bob)]);
  // carol is on the gateway that will be cut, on a bare socket: what reaches her live is what her socket's rooms bring.
  const carol = await cluster.connect(1, await cluster.token("carol", "Carol"));
  const carolHeard: Message[] = [];
  carol.on("message:new", (m) => carolHeard.push(m));
  const resyncs: string[] = [];
  carol.on("session:resync", (e) => resyncs.push(e.reason));

  const bobView = bob.conversation(conv.id);
  const send = async (conversationId: string, body: string) => {
    const ack = await cluster.http(0, "POST", `/v1/conversations/${conversationId}/messages`, { token: aliceToken, body: { clientMessageId: randomUUID(), body } });
    expect(ack.status, JSON.stringify(ack.body)).toBe(201);
  };
  // Messages flow; bob hears them live.
  for (let i = 1; i <= 5; i++) await send(conv.id, `live ${i}`);
  await until(() => bobView.messages.filter((m) => m.status === "sent").length === 5, "bob's first five");

  const cut = await cutAdapterSubscriber(1);
  await new Promise((r) => setTimeout(r, 300));
  // While gateway 1 hears nothing: more messages, and carol added to a new conversation
  // (the room join for her socket is sent through the adapter, to a pod that does not hear it).
  for (let i = 6; i <= 10; i++) await send(conv.id, `missed ${i}`);
  const added = await cluster.createConversation(aliceToken, ["carol"], "group", "while away");
  await new Promise((r) => setTimeout(r, 300));
  expect(bobView.messages.filter((m) => m.status === "sent")).toHaveLength(5);
  await cut.restore();

  // Back: bob's SDK syncs on session:resync and ends with every message, with no later one to reveal the gap.
  await until(() => bobView.messages.filter((m) => m.status === "sent").length === 10, "bob's missed messages", 20_000);
  expect(bobView.messages.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  await until(() => resyncs.length > 0, "carol's session:resync");
  expect(resyncs).toEqual(["redis-reconnected"]);
  // carol's socket is in the room she was added to meanwhile: the next message reaches her live.
  await send(added.id, "welcome");
  await until(() => carolHeard.some((m) => m.conversationId === added.id), "carol hearing the new conversation live");
  const metrics = await cluster.nodes[1]!.registry.getSingleMetric("parley_gateway_resync_sockets_total")!.get();
  expect(metrics.values[0]!.value).toBe(2);
}, 60_000);
