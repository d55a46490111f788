import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Message } from "@parley/protocol";
import { startCluster, type ClientSocket, type Cluster } from "./cluster.js";

let cluster: Cluster;
let tokens: string[];
let sockets: ClientSocket[][];
let conversations: string[];
const USERS = ["p1", "p2", "p3"];

beforeAll(async () => {
  cluster = await startCluster({ gateways: 2 });
  tokens = await Promise.all(USERS.map((u) => cluster.token(u, u.toUpperCase())));
  conversations = [
    (await cluster.createConversation(tokens[0]!, ["p2", "p3"])).id,
    (await cluster.createConversation(tokens[1]!, ["p1", "p3"])).id,
  ];
  // Every user on both pods.
  sockets = await Promise.all(tokens.map((t) => Promise.all([cluster.connect(0, t), cluster.connect(1, t)])));
});
afterAll(async () => {
  await cluster?.stop();
});

/** Where one attempt goes: a socket on pod 0 or 1, or HTTP on pod 0 or 1. */
const Route = fc.constantFrom("socket0", "socket1", "http0", "http1");

const Message = fc.record({
  sender: fc.integer({ min: 0, max: USERS.length - 1 }),
  conversation: fc.integer({ min: 0, max: 1 }),
  body: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0),
  attempts: fc.array(Route, { minLength: 1, maxLength: 4 }),
});

async function attempt(route: string, sender: number, conversationId: string, clientMessageId: string, body: string) {
  if (route.startsWith("socket")) {
    const socket = sockets[sender]![route === "socket0" ? 0 : 1]!;
    const ack = await socket.emitWithAck("message:send", { conversationId, clientMessageId, body });
    if (!ack.ok) throw new Error(`socket send refused: ${JSON.stringify(ack.error)}`);
    return ack.message;
  }
  const res = await cluster.http(route === "http0" ? 0 : 1, "POST", `/v1/conversations/${conversationId}/messages`, {
    token: tokens[sender]!,
    body: { clientMessageId, body },
  });
  if (res.status !== 201) throw new Error(`http send refused: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.message as Message;
}

it("stores every message once, answers every retry alike, and keeps seqs gap-free, whatever the retries", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(Message, { minLength: 1, maxLength: 12 }), async (messages) => {
      const before = await cluster.database.sql<{ id: string; last_seq: number }[]>`
        select id, last_seq from conversations where id in ${cluster.database.sql(conversations)}`;
      const planned = messages.map((m) => ({ ...m, clientMessageId: randomUUID(), conversationId: conversations[m.conversation]! }));
      // Every attempt of every message at once: the retries race each other across pods.
      const answers = await Promise.all(
        planned.map((m) => Promise.all(m.attempts.map((r) => attempt(r, m.sender, m.conversationId, m.clientMessageId, m.body)))),
      );
      for (const [i, m] of planned.entries()) {
        const first = answers[i]![0]!;
        for (const other of answers[i]!) expect(other).toEqual(first);
        expect(first).toMatchObject({ clientMessageId: m.clientMessageId, body: m.body, senderId: USERS[m.sender] });
      }
      const stored = await cluster.database.sql<{ client_message_id: string; n: number }[]>`
        select client_message_id, count(*)::int as n from messages
        where client_message_id in ${cluster.database.sql(planned.map((m) => m.clientMessageId))}
        group by client_message_id`;
      expect(stored).toHaveLength(planned.length);
      for (const row of stored) expect(row.n).toBe(1);

      for (const c of before) {
        const seqs = await cluster.database.sql<{ seq: number }[]>`
          select seq from messages where conversation_id = ${c.id} order by seq`;
        const [{ last_seq }] = await cluster.database.sql<[{ last_seq: number }]>`select last_seq from conversations where id = ${c.id}`;
        expect(seqs.map((r) => r.seq)).toEqual(Array.from({ length: last_seq }, (_, k) => k + 1));
        const added = planned.filter((m) => m.conversationId === c.id).length;
        expect(last_seq - c.last_seq).toBe(added);
      }
    }),
    { numRuns: 25 },
  );
});
