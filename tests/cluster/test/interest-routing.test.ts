import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { collect, startCluster, type Cluster } from "./cluster.js";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ gateways: 4 });
});
afterAll(async () => {
  await cluster?.stop();
});

/** Counts what each pod's adapter subscription receives, in messages and bytes. */
function meter(cluster: Cluster) {
  return cluster.nodes.map((node) => {
    const tally = { messages: 0, bytes: 0 };
    node.adapterSubscriber.on("smessageBuffer", (_channel: Buffer, message: Buffer) => {
      tally.messages++;
      tally.bytes += message.length;
    });
    return tally;
  });
}

it("sends a conversation's traffic only to the pods that have a socket in it (4 gateways)", async () => {
  const [alice, bob, carol, dave] = await Promise.all(["alice", "bob", "carol", "dave"].map((u) => cluster.token(u)));
  // Conversation A lives on pods 0 and 1; conversation B on pods 2 and 3.
  const a = await cluster.createConversation(alice!, ["bob"]);
  const b = await cluster.createConversation(carol!, ["dave"]);
  const [aliceSocket, bobSocket] = [await cluster.connect(0, alice!), await cluster.connect(1, bob!)];
  const [carolSocket, daveSocket] = [await cluster.connect(2, carol!), await cluster.connect(3, dave!)];

  const traffic = meter(cluster);
  const bobGets = collect(bobSocket, "message:new", 100, 15_000);
  const daveGets = collect(daveSocket, "message:new", 20, 15_000);
  for (let i = 0; i < 100; i++) {
    const ack = await aliceSocket.emitWithAck("message:send", { conversationId: a.id, clientMessageId: randomUUID(), body: `a${i}` });
    expect(ack.ok).toBe(true);
  }
  for (let i = 0; i < 20; i++) {
    const ack = await carolSocket.emitWithAck("message:send", { conversationId: b.id, clientMessageId: randomUUID(), body: `b${i}` });
    expect(ack.ok).toBe(true);
  }
  await Promise.all([bobGets, daveGets]);
  await new Promise((r) => setTimeout(r, 200));

  // Each pod hears only its own conversations: 100 broadcasts for pods 0 and 1, 20 for 2 and 3.
  expect(traffic.map((t) => t.messages)).toEqual([100, 100, 20, 20]);
  console.info(
    `per-pod inbound adapter traffic (messages / bytes): ${traffic.map((t, i) => `pod ${i}: ${t.messages} / ${t.bytes}`).join(", ")}`,
  );
});
