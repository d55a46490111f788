import { randomUUID } from "node:crypto";
import { createClient, type ParleyClient } from "@parley/client";
import { createDatabase as openDatabase, type Database } from "@parley/db";
import type { Message } from "@parley/protocol";
import { io as connectClient } from "socket.io-client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDatabase, freePort, signToken, spawnService, startRedis, type ServerHandle, type ServiceName, type SpawnedService, type TestDatabase } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";
import type { ClientSocket } from "./cluster.js";
import { startWebhookReceiver } from "./webhook-receiver.js";

// A persister killed (SIGKILL) after its COMMIT and before anything was published: the message
// is stored, but neither fanned out nor handed to push. Another persister reclaims the entry,
// finds the message stored (a duplicate) and announces it again. Every service is a real
// process against a Redis of this file's own (processes use the default keyspace).
const SECRET = "announce-test-secret-0123456789";
const WEBHOOK_SECRET = "announce-webhook-secret-0123456789";

let redis: ServerHandle;
let db: TestDatabase;
let database: Database;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
const children: SpawnedService[] = [];
const clients: ParleyClient[] = [];
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  [redis, db, receiver] = await Promise.all([startRedis({ infra: "local" }), createDatabase(testInfra().databaseUrl), startWebhookReceiver()]);
  database = openDatabase({ url: db.url, max: 2 });
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await Promise.allSettled(clients.map((c) => c.close()));
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
  await Promise.allSettled(children.map((c) => c.exited));
  await database?.close();
  await db?.drop();
  await receiver?.close();
  await redis?.close();
});

function run(service: ServiceName, env: Record<string, string>): SpawnedService {
  const spawned = spawnService(service, { DATABASE_URL: db.url, REDIS_URL: redis.url, ...env }, { echoStderr: true });
  children.push(spawned);
  return spawned;
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(check).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startPersister(pod: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const spawned = run("persister", { METRICS_PORT: String(port), POD_NAME: pod, ...env });
  await until(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, `${pod} ready`);
  return { ...spawned, metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text() };
}

function connect(base: string, token: string): Promise<ClientSocket> {
  const socket: ClientSocket = connectClient(base, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once("session:ready", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

it("a message stored by a persister killed before its fan-out, or inside its push hand-off window, reaches every member once and its offline member gets one push", async () => {
  const [gatewayPort, deliveryPort] = await Promise.all([freePort(), freePort()]);
  const base = `http://127.0.0.1:${gatewayPort}`;
  run("gateway", { PORT: String(gatewayPort), HOST: "127.0.0.1", JWT_SECRET: SECRET, POD_NAME: "gw-announce", SEND_TIMEOUT_MS: "1500" });
  run("delivery", {
    METRICS_PORT: String(deliveryPort),
    PUSH_WEBHOOK_URL: receiver.url,
    PUSH_WEBHOOK_SECRET: WEBHOOK_SECRET,
    PUSH_COLLAPSE_MS: "300",
    PRESENCE_OFFLINE_GRACE_MS: "0",
  });
  // Holds every commit for 10 minutes after Postgres answered: it dies in that window.
  const doomed = await startPersister("persister-doomed", { PERSIST_TEST_HOLD_AFTER_COMMIT_MS: "600000" });
  await until(async () => (await fetch(`${base}/readyz`)).status === 200, "gateway ready");
  await until(async () => (await fetch(`http://127.0.0.1:${deliveryPort}/readyz`)).status === 200, "delivery ready");

  const token = (sub: string) => signToken({ sub, name: sub, secret: SECRET });
  const created = await fetch(`${base}/v1/conversations`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${await token("alice")}` },
    body: JSON.stringify({ kind: "group", memberIds: ["bob", "carol", "dave"], title: "announce" }),
  });
  expect(created.status).toBe(201);
  const conversationId = ((await created.json()) as { conversation: { id: string } }).conversation.id;

  // bob listens on a bare socket: every message:new that reaches him is counted.
  const bob = await connect(base, await token("bob"));
  const bobHeard: Message[] = [];
  bob.on("message:new", (m) => bobHeard.push(m));
  const alice = await connect(base, await token("alice"));

  const clientMessageId = randomUUID();
  const send = { conversationId, clientMessageId, body: "stored, then the persister died" };
  const firstAnswer = alice.timeout(10_000).emitWithAck("message:send", send);
  await until(async () => (await database.sql`select 1 from messages where client_message_id = ${clientMessageId}`).length === 1, "the commit");
  const [stored] = await database.sql<{ id: string; seq: number }[]>`select id, seq::int as seq from messages where client_message_id = ${clientMessageId}`;

  // Committed, nothing published: the persister is holding. Killed now.
  doomed.child.kill("SIGKILL");
  await doomed.exited;
  // The sender heard UNAVAILABLE (a time-out: "may have been stored").
  expect(await firstAnswer).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
  expect(bobHeard).toEqual([]);

  // carol's SDK connects meanwhile: its sync brings the stored message from Postgres, so the
  // announcement that follows reaches a client that already holds it.
  const carol = createClient({ url: base, getToken: () => token("carol"), reconnect: { baseMs: 100, maxMs: 1_000 } });
  clients.push(carol);
  const carolHeard: string[] = [];
  carol.on("message", (m) => carolHeard.push(m.id));
  const carolView = carol.conversation(conversationId);
  await until(() => carolView.messages.some((m) => m.id === stored!.id), "carol's sync");

  // Another persister reclaims the entry after 1 s of idleness and announces the message.
  const survivor = await startPersister("persister-survivor", { PERSIST_CLAIM_IDLE_MS: "1000" });
  await until(() => bobHeard.length > 0, "bob hearing the message live");
  await until(() => receiver.for("dave").length > 0, "dave's push");
  // Quiet for a while: nothing more arrives.
  await sleep(1_500);

  expect(bobHeard.map((m) => [m.id, m.seq])).toEqual([[stored!.id, stored!.seq]]);
  // carol's socket heard it live too (bob's room is hers); the SDK kept one copy.
  expect(carolView.messages.filter((m) => m.id === stored!.id)).toHaveLength(1);
  expect(carolHeard.filter((id) => id === stored!.id)).toHaveLength(1);
  const pushes = receiver.for("dave");
  expect(pushes).toHaveLength(1);
  expect(pushes[0]!.body).toMatchObject({ conversationId, count: 1, firstSeq: stored!.seq, lastSeq: stored!.seq, latest: { messageId: stored!.id } });
  // Online members get no push.
  expect(receiver.for("bob")).toEqual([]);
  expect(receiver.for("carol")).toEqual([]);
  expect(await survivor.metrics()).toMatch(/^parley_persist_announced_again_total\{[^}]*\} 1$/m);

  // The sender's retry is answered with the stored message and announces nothing more.
  expect(await alice.timeout(10_000).emitWithAck("message:send", send)).toMatchObject({ ok: true, duplicate: true, message: { id: stored!.id } });
  await sleep(1_000);
  expect(bobHeard).toHaveLength(1);
  expect(receiver.for("dave")).toHaveLength(1);

  // Killed inside the push hand-off window: the fan-out and the ack left at once, the hand-off
  // waits up to 250 ms. The entry is XACKed only after its hand-off left, so it is still
  // pending and a third persister announces it again: bob's socket hears it twice, the SDK
  // keeps one copy, the notification store counts its seq once.
  const second = await alice.timeout(10_000).emitWithAck("message:send", { conversationId, clientMessageId: randomUUID(), body: "fanned out, then the persister died" });
  if (!second.ok) throw new Error(JSON.stringify(second));
  // The ack is on its way with the fan-out: kill at once, well inside the 250 ms window.
  survivor.child.kill("SIGKILL");
  await survivor.exited;
  await startPersister("persister-third", { PERSIST_CLAIM_IDLE_MS: "1000" });
  await until(() => receiver.for("dave").length === 2, "dave's push for the second message");
  await until(() => carolView.messages.some((m) => m.id === second.message.id), "carol holding the second message");
  await sleep(1_500);
  const secondPushes = receiver.for("dave");
  expect(secondPushes).toHaveLength(2);
  expect(secondPushes[1]!.body).toMatchObject({ count: 1, firstSeq: second.message.seq, latest: { messageId: second.message.id } });
  const bobCopies = bobHeard.filter((m) => m.id === second.message.id).length;
  expect(bobCopies).toBeGreaterThanOrEqual(1);
  expect(carolView.messages.filter((m) => m.id === second.message.id)).toHaveLength(1);
  expect(carolHeard.filter((id) => id === second.message.id)).toHaveLength(1);
  process.stdout.write(`killed inside the hand-off window: bob's socket heard the message ${bobCopies} time(s), the SDK kept 1, dave got 1 push\n`);
}, 120_000);
