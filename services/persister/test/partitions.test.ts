import { randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AckBatchSchema, AckSchema, appendPersistEntry, createKeyspace, persistPartitionOf, type Ack } from "@parley/bus";
import { createConversation, createDatabase, type Database, type PersistItem } from "@parley/db";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { createTestDatabase, testInfra, uniqueRedisPrefix } from "@parley/testkit/vitest";
import { testLogger, type TestDatabase } from "@parley/testkit";
import { buildPersister, loadConfig, type Persister } from "../src/index.js";

// The persist path split into partitions (PERSIST_PARTITIONS), against a real Redis and
// PostgreSQL: a conversation's sends in their partition's stream, persisters sharing every
// partition, a dead persister's entries taken over, partitions left by a change of the count
// drained. Across processes and gateways: tests/cluster/test/persist-partitions.test.ts.

const logger = testLogger();
const POD = "partitions-pod";
const PARTITIONS = 4;

let testDb: TestDatabase;
let database: Database;
let producer: Redis;
const connections: Redis[] = [];
const persisters: Persister[] = [];
const acks: Ack[] = [];

function connection(role: "producer" | "consumer" | "subscriber") {
  const r = createRedis({ url: testInfra().redisUrl, name: `partitions-test:${role}`, role, logger });
  connections.push(r);
  return r;
}

function startPersister(keyspace: ReturnType<typeof createKeyspace>, pod: string, partitions = PARTITIONS, registry = new Registry()) {
  const config = loadConfig({ REDIS_URL: "redis://127.0.0.1:6379", POD_NAME: pod, PERSIST_PARTITIONS: String(partitions), PERSIST_COMMIT_INTERVAL_MS: "0", PERSIST_CLAIM_IDLE_MS: "1000" });
  const persister = buildPersister({ database, workerRedis: connection("consumer"), publishRedis: connection("producer"), registry, logger, keyspace, config });
  persister.run();
  persisters.push(persister);
  return persister;
}

async function conversation(): Promise<string> {
  return (await createConversation(database.sql, { id: randomUUID(), kind: "group", createdBy: "alice", memberIds: ["bob"] })).conversation.id;
}

const item = (conversationId: string, body: string): PersistItem => ({
  id: randomUUID(),
  conversationId,
  senderId: "alice",
  senderName: "Alice",
  clientMessageId: randomUUID(),
  kind: "text",
  body,
});

/** As a gateway does: each send to its conversation's partition (one entry per send here). */
const appendToPartition = (keyspace: ReturnType<typeof createKeyspace>, it: PersistItem, partitions = PARTITIONS) =>
  appendPersistEntry(producer, keyspace.persistPartition(persistPartitionOf(it.conversationId, partitions)), { replyTo: POD, items: [it] }, 1_000_000);

async function waitForAcks(ids: string[], timeoutMs = 15_000): Promise<void> {
  await expect.poll(() => ids.filter((id) => acks.some((a) => a.itemId === id)).length, { timeout: timeoutMs, interval: 50 }).toBe(ids.length);
}

const storedBodies = async (conversationId: string) =>
  (await database.sql<{ body: string; seq: number }[]>`select body, seq::int as seq from messages where conversation_id = ${conversationId} order by seq`).map((r) => [r.seq, r.body]);

beforeAll(async () => {
  testDb = await createTestDatabase();
  database = createDatabase({ url: testDb.url, max: 8 });
  producer = connection("producer");
  await waitForReady(producer);
});

afterAll(async () => {
  for (const p of persisters) await p.stop();
  await Promise.allSettled(connections.map((r) => r.quit()));
  await database?.close();
  await testDb?.drop();
});

async function listenForAcks(keyspace: ReturnType<typeof createKeyspace>): Promise<void> {
  const sub = connection("subscriber");
  await waitForReady(sub);
  sub.on("smessage", (_channel: string, raw: string) => acks.push(...AckBatchSchema.parse(JSON.parse(raw)).acks.map((a) => AckSchema.parse(a))));
  await sub.ssubscribe(keyspace.ackChannel(POD));
}

describe("persist partitions", () => {
  it("two persisters share four partitions: every message stored once, each conversation gap-free", async () => {
    const keyspace = createKeyspace(uniqueRedisPrefix("partitions"));
    await listenForAcks(keyspace);
    startPersister(keyspace, "share-a");
    startPersister(keyspace, "share-b");
    const conversations = await Promise.all(Array.from({ length: 12 }, () => conversation()));
    const sent: PersistItem[] = [];
    for (let round = 0; round < 10; round++) {
      for (const c of conversations) {
        const it = item(c, `m${round}`);
        sent.push(it);
        await appendToPartition(keyspace, it);
      }
    }
    await waitForAcks(sent.map((s) => s.id));
    // Every partition carried some of them, through its own stream and group.
    const used = new Set(conversations.map((c) => persistPartitionOf(c, PARTITIONS)));
    expect(used.size).toBeGreaterThan(1);
    for (const k of used) expect(await producer.xlen(keyspace.persistPartition(k).stream)).toBeGreaterThan(0);
    for (const c of conversations) {
      // Each conversation: seq 1..10 without a gap, each message once (two persisters may take
      // two entries of one partition at once, so the order is the commits', as on one stream).
      const rows = await storedBodies(c);
      expect(rows.map(([seq]) => seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect(rows.map(([, body]) => body).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
    }
    const { n } = (await database.sql<{ n: number }[]>`select count(*)::int as n from messages`)[0]!;
    expect(n).toBe(sent.length);
  });

  it("a vanished persister's pending entries in any partition are reclaimed by another", async () => {
    const keyspace = createKeyspace(uniqueRedisPrefix("partitions-reclaim"));
    await listenForAcks(keyspace);
    const c = await conversation();
    const k = persistPartitionOf(c, PARTITIONS);
    const partition = keyspace.persistPartition(k);
    await producer.xgroup("CREATE", partition.stream, partition.group, "0", "MKSTREAM");
    const orphans = Array.from({ length: 3 }, (_, i) => item(c, `orphan ${i}`));
    for (const o of orphans) await appendToPartition(keyspace, o);
    // A persister that read them and died before committing.
    await producer.xreadgroup("GROUP", partition.group, "ghost", "COUNT", 10, "STREAMS", partition.stream, ">");
    startPersister(keyspace, "rescuer");
    await waitForAcks(orphans.map((o) => o.id));
    expect(await storedBodies(c)).toEqual([
      [1, "orphan 0"],
      [2, "orphan 1"],
      [3, "orphan 2"],
    ]);
    await expect.poll(async () => ((await producer.xpending(partition.stream, partition.group)) as [number])[0], { timeout: 5_000 }).toBe(0);
  });

  it("drains a partition beyond its PERSIST_PARTITIONS (left by a change of the count), reports it in the metrics, and stops reading it once it is deleted", async () => {
    const keyspace = createKeyspace(uniqueRedisPrefix("partitions-found"));
    await listenForAcks(keyspace);
    const registry = new Registry();
    const p = startPersister(keyspace, "fewer", 2, registry);
    // Gateways still on 8 partitions appended to partitions 5 and 7 (the conversations' hash mod 8).
    const sent: PersistItem[] = [];
    for (const k of [5, 7]) {
      let c: string;
      do c = await conversation();
      while (persistPartitionOf(c, 8) !== k);
      for (let i = 0; i < 3; i++) {
        const it = item(c, `old count ${i}`);
        sent.push(it);
        await appendToPartition(keyspace, it, 8);
      }
    }
    await p.partitions.lookForOthers();
    await waitForAcks(sent.map((s) => s.id));
    expect(p.partitions.partitions().map((x) => x.index).sort()).toEqual([0, 1, 5, 7]);
    // Read at scrape time, one series per partition read (the XACKs follow the hand-off window).
    await expect.poll(() => registry.metrics(), { timeout: 5_000 }).toMatch(/^parley_persist_stream_pending{partition="7"} 0$/m);
    expect(await registry.metrics()).toMatch(/^parley_persist_stream_lag{partition="5"} 0$/m);
    // An operator deletes the drained partition's stream: the persister stops reading it (and does not create it again).
    await producer.del(keyspace.persistPartition(5).stream);
    await expect.poll(() => p.partitions.partitions().map((x) => x.index).sort(), { timeout: 5_000 }).toEqual([0, 1, 7]);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await producer.exists(keyspace.persistPartition(5).stream)).toBe(0);
  });
});
