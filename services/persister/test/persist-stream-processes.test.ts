import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendPersistEntry, DEFAULT_KEYSPACE } from "@parley/bus";
import { createConversation, createDatabase as openDatabase, type Database, type PersistItem } from "@parley/db";
import { createDatabase, freePort, holdConversationLock, spawnService, startRedis, type ServerHandle, type SpawnedService, type TestDatabase } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";

// A Redis of this file's own: persister processes use the default keyspace, and those of other
// test files must not read this file's entries.
let redisServer: ServerHandle;
let redis: Redis;
let db: TestDatabase;
let database: Database;
let conversationId: string;
const children: SpawnedService[] = [];
const { stream, group } = DEFAULT_KEYSPACE.persist;

beforeAll(async () => {
  redisServer = await startRedis();
  redis = new Redis(redisServer.url);
  db = await createDatabase(testInfra().databaseUrl);
  database = openDatabase({ url: db.url, max: 2 });
  conversationId = (await createConversation(database.sql, { id: randomUUID(), kind: "group", createdBy: "alice", memberIds: ["bob"] })).conversation.id;
}, 60_000);
afterAll(async () => {
  for (const c of children) c.child.kill("SIGKILL");
  redis?.disconnect();
  await database?.close();
  await db?.drop();
  await redisServer?.close();
});

async function startPersister(pod: string, env: Record<string, string> = {}) {
  const port = await freePort();
  const child = spawnService("persister", {
    LOG_LEVEL: "warn",
    DATABASE_URL: db.url,
    REDIS_URL: redisServer.url,
    METRICS_PORT: String(port),
    POD_NAME: pod,
    ...env,
  });
  children.push(child);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200);
  return { ...child, metrics: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text() };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("condition not met in time");
}

const item = (body: string): PersistItem => ({
  id: randomUUID(),
  conversationId,
  senderId: "alice",
  senderName: "Alice",
  clientMessageId: randomUUID(),
  kind: "text",
  body,
});

const appendEach = (items: PersistItem[]) => Promise.all(items.map((i) => appendPersistEntry(redis, DEFAULT_KEYSPACE.persist, { replyTo: "gw", items: [i] }, 1_000_000)));
const stored = async () => (await database.sql<{ n: number }[]>`select count(*)::int as n from messages where conversation_id = ${conversationId}`)[0]!.n;
const pending = async () => ((await redis.xpending(stream, group)) as [number])[0];

/** Holds the conversation's row lock: the persister parks its entries (read, not committed). */
const lockConversation = () => holdConversationLock(database.sql, conversationId);

async function expectStoredOnce(items: PersistItem[]) {
  const rows = await database.sql<{ client_message_id: string; seq: number }[]>`
    select client_message_id, seq from messages where conversation_id = ${conversationId} order by seq`;
  const ids = rows.map((r) => r.client_message_id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.sort()).toEqual(items.map((i) => i.clientMessageId).sort());
  expect(rows.map((r) => r.seq).sort((a, b) => a - b)).toEqual(rows.map((_, i) => i + 1));
}

describe("the persist stream across persister processes", () => {
  it("entries read and not committed by a persister killed with SIGKILL are reclaimed and committed by another, once each", async () => {
    const a = await startPersister("persister-a", { PERSIST_CLAIM_IDLE_MS: "1000" });
    const first = Array.from({ length: 20 }, (_, i) => item(`before ${i}`));
    await appendEach(first);
    await waitFor(async () => (await stored()) === 20 && (await pending()) === 0);

    const unlock = await lockConversation();
    const held = Array.from({ length: 30 }, (_, i) => item(`held ${i}`));
    await appendEach(held);
    // Read by persister-a, its commit waiting on the lock.
    await waitFor(async () => (await pending()) === 30);
    a.child.kill("SIGKILL");
    await a.exited;
    // The killed persister's Postgres backend may still commit the statement it was waiting
    // in once the lock goes (Postgres notices the lost client only afterwards): committed and
    // never XACKed, which the reclaim below answers as duplicates.
    await unlock();

    const b = await startPersister("persister-b", { PERSIST_CLAIM_IDLE_MS: "1000" });
    await waitFor(async () => (await stored()) === 50 && (await pending()) === 0);
    await expectStoredOnce([...first, ...held]);
    expect(await b.metrics()).toMatch(/^parley_persist_entries_reclaimed_total\{service="persister"\} 30$/m);

    // A restarted pod (same POD_NAME) re-reads its own pending entries first, without waiting
    // for a reclaim (which this run puts out of reach).
    const unlockAgain = await lockConversation();
    const again = Array.from({ length: 10 }, (_, i) => item(`again ${i}`));
    await appendEach(again);
    await waitFor(async () => (await pending()) === 10);
    b.child.kill("SIGKILL");
    await b.exited;
    await unlockAgain();
    const restarted = await startPersister("persister-b", { PERSIST_CLAIM_IDLE_MS: "600000" });
    await waitFor(async () => (await stored()) === 60 && (await pending()) === 0);
    await expectStoredOnce([...first, ...held, ...again]);
    expect(await restarted.metrics()).toMatch(/^parley_persist_entries_reclaimed_total\{service="persister"\} 0$/m);
    expect(await redis.xlen(DEFAULT_KEYSPACE.persist.dead)).toBe(0);
    restarted.child.kill("SIGTERM");
    expect(await restarted.exited).toBe(0);
  }, 90_000);
});
