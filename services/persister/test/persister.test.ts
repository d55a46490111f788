import { randomUUID } from "node:crypto";
import { Queue, QueueEvents } from "bullmq";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AckBatchSchema, AckSchema, createKeyspace, JobCatalog, type Ack } from "@parley/bus";
import { createConversation, createDatabase, type Database, type PersistItem } from "@parley/db";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { createTestDatabase, testInfra, uniqueRedisPrefix } from "@parley/testkit/vitest";
import type { TestDatabase } from "@parley/testkit";
import { buildPersister, type Persister } from "../src/index.js";

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const keyspace = createKeyspace(uniqueRedisPrefix("persister"));
const POD = "test-pod";

let testDb: TestDatabase;
let database: Database;
let queue: Queue;
let events: QueueEvents;
const redis: Redis[] = [];
const persisters: Persister[] = [];
const acks: Ack[] = [];
let registry: Registry;
let conversationId: string;

function connection(role: "producer" | "consumer" | "subscriber") {
  const r = createRedis({ url: testInfra().redisUrl, name: `persister-test:${role}`, role, logger });
  redis.push(r);
  return r;
}

function startPersister(reg = new Registry()) {
  const persister = buildPersister({
    database,
    workerRedis: connection("consumer"),
    publishRedis: connection("producer"),
    registry: reg,
    logger,
    concurrency: 64,
    maxBatch: 500,
    lanes: 4,
    keyspace,
  });
  void persister.worker.run();
  persisters.push(persister);
  return persister;
}

const item = (over: Partial<PersistItem> = {}): PersistItem => ({
  id: randomUUID(),
  conversationId,
  senderId: "alice",
  senderName: "Alice",
  clientMessageId: randomUUID(),
  kind: "text",
  body: "hello",
  ...over,
});

beforeAll(async () => {
  testDb = await createTestDatabase();
  database = createDatabase({ url: testDb.url, max: 4 });
  conversationId = (await createConversation(database.sql, { id: randomUUID(), kind: "group", createdBy: "alice", memberIds: ["bob"] })).conversation.id;
  const producer = connection("producer");
  await waitForReady(producer);
  queue = new Queue("persist", { connection: producer, prefix: keyspace.queuePrefix });
  events = new QueueEvents("persist", { connection: connection("consumer"), prefix: keyspace.queuePrefix });
  await events.waitUntilReady();
  const sub = connection("subscriber");
  await waitForReady(sub);
  sub.on("smessage", (_channel: string, raw: string) => acks.push(...AckBatchSchema.parse(JSON.parse(raw)).acks.map((a) => AckSchema.parse(a))));
  await sub.ssubscribe(keyspace.ackChannel(POD));
  registry = new Registry();
  startPersister(registry);
});

afterAll(async () => {
  for (const p of persisters) await p.stop();
  await events?.close();
  await queue?.close();
  await Promise.allSettled(redis.map((r) => r.quit()));
  await database?.close();
  await testDb?.drop();
});

async function waitForAcks(itemIds: string[], timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = itemIds.map((id) => acks.find((a) => a.itemId === id));
    if (found.every(Boolean)) return found.map((a) => a!.outcome);
    if (Date.now() > until) throw new Error(`acks missing: ${found.filter((f) => !f).length}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("persister", () => {
  it("commits many jobs together under load and answers each one", async () => {
    const items = Array.from({ length: 300 }, (_, i) => item({ body: `m${i}` }));
    await queue.addBulk(items.map((it) => ({ name: "persist", data: { replyTo: POD, items: [it] } })));
    const outcomes = await waitForAcks(items.map((i) => i.id));
    expect(outcomes.every((o) => o.ok && !o.duplicate)).toBe(true);
    const metric = await registry.getSingleMetric("parley_persist_batch_size")!.get();
    const count = metric.values.find((v) => (v as { metricName?: string }).metricName === "parley_persist_batch_size_count")!.value;
    // 300 messages in fewer transactions than messages: jobs were merged.
    expect(count).toBeLessThan(300);
    const seqs = await database.sql<{ seq: number }[]>`select seq from messages where conversation_id = ${conversationId} order by seq`;
    expect(seqs.map((r) => r.seq)).toEqual(seqs.map((_, i) => i + 1));
  });

  it("fails a poison job with its reason and keeps the queue moving", async () => {
    const bad = await queue.add("persist", { replyTo: POD, items: [{ not: "a message" }] });
    const nul = item({ body: "nul \u0000 byte" });
    const refused = await queue.add("persist", { replyTo: POD, items: [nul] });
    const good = item({ body: "after the poison" });
    await queue.add("persist", { replyTo: POD, items: [good] });

    const [goodOutcome, nulOutcome] = await waitForAcks([good.id, nul.id]);
    expect(goodOutcome).toMatchObject({ ok: true, message: { body: "after the poison" } });
    expect(nulOutcome).toMatchObject({ ok: false, error: { code: "INTERNAL" } });
    await expect(bad.waitUntilFinished(events, 10_000)).rejects.toThrow(/invalid job data/);
    await expect(refused.waitUntilFinished(events, 10_000)).rejects.toThrow(/refused by Postgres/);
    const failed = await queue.getJob(refused.id!);
    expect(failed!.attemptsMade).toBe(1);
    const rows = await database.sql`select 1 from messages where client_message_id = ${nul.clientMessageId}`;
    expect(rows).toHaveLength(0);
  });

  it("commits the rest of a job that holds a message Postgres refuses", async () => {
    const before = item({ body: "before" });
    const nul = item({ body: "nul \u0000 in the middle" });
    const after = item({ body: "after" });
    const job = await queue.add("persist", { replyTo: POD, items: [before, nul, after] });
    const [a, n, b] = await waitForAcks([before.id, nul.id, after.id]);
    expect(a).toMatchObject({ ok: true, message: { body: "before" } });
    expect(b).toMatchObject({ ok: true, message: { body: "after" } });
    expect(n).toMatchObject({ ok: false, error: { code: "INTERNAL" } });
    await expect(job.waitUntilFinished(events, 10_000)).rejects.toThrow(/refused by Postgres/);
  });

  it("stores a message once when two persisters race over duplicates of it", async () => {
    startPersister();
    const items = Array.from({ length: 40 }, (_, i) => item({ body: `dup${i}` }));
    // Every message three times, spread over many jobs the two workers take at once.
    const jobs = [...items, ...items, ...items].map((it) => ({ name: "persist", data: { replyTo: POD, items: [it] } }));
    await queue.addBulk(jobs.sort(() => Math.random() - 0.5));
    await waitForAcks(items.map((i) => i.id));
    await new Promise((r) => setTimeout(r, 500));
    const stored = await database.sql<{ n: number }[]>`
      select count(*)::int as n from messages where client_message_id in ${database.sql(items.map((i) => i.clientMessageId))}`;
    expect(stored[0]!.n).toBe(40);
    const seqs = await database.sql<{ seq: number }[]>`select seq from messages where conversation_id = ${conversationId} order by seq`;
    expect(seqs.map((r) => r.seq)).toEqual(seqs.map((_, i) => i + 1));
    const [conversation] = await database.sql<{ last_seq: number }[]>`select last_seq from conversations where id = ${conversationId}`;
    expect(conversation!.last_seq).toBe(seqs.length);
  });

  it("answers FORBIDDEN for a conversation that does not exist", async () => {
    const stray = item({ conversationId: randomUUID() });
    await queue.add("persist", { replyTo: POD, items: [stray] });
    const [outcome] = await waitForAcks([stray.id]);
    expect(outcome).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  });

  it("hands committed messages to notifications as one job per window of commits (not one per message), duplicates left out", async () => {
    const notify = new Queue("notify", { connection: connection("producer"), prefix: keyspace.queuePrefix });
    const items = Array.from({ length: 200 }, (_, i) => item({ body: `handed ${i} ${"x".repeat(400)}` }));
    await queue.addBulk(items.map((it) => ({ name: "persist", data: { replyTo: POD, items: [it] } })));
    await waitForAcks(items.map((i) => i.id));
    // A retry of an already stored message is answered, and not handed off again.
    const retry = { ...items[0]!, id: randomUUID() };
    await queue.add("persist", { replyTo: POD, items: [retry] });
    await waitForAcks([retry.id]);

    const ids = new Set(items.map((i) => i.id));
    const read = async () => {
      const jobs = (await notify.getJobs(["waiting"], 0, -1)).filter((j) =>
        JobCatalog.notify.data.parse(j.data).messages.some((m) => ids.has(m.id)),
      );
      return { jobs, handed: jobs.flatMap((j) => JobCatalog.notify.data.parse(j.data).messages).filter((m) => ids.has(m.id)) };
    };
    // The last window leaves after its 250 ms.
    await expect.poll(async () => (await read()).handed.length, { timeout: 5_000 }).toBe(ids.size);
    const { jobs, handed } = await read();
    expect(handed.map((m) => m.id).sort()).toEqual([...ids].sort());
    // One job per window of commits, and a window holds many sends.
    expect(jobs.length).toBeLessThan(200);
    // No text leaves with the hand-off: the push reads it when it is sent (a deleted message's text is gone by then).
    const raw = JSON.stringify(jobs.map((j) => j.data));
    expect(raw).not.toContain("handed ");
    expect(Object.keys(handed[0]!).sort()).toEqual(["conversationId", "createdAt", "id", "kind", "senderId", "senderName", "seq"]);
    await notify.close();
  });

  it("a failing hand-off neither delays nor fails the acks, and is counted", async () => {
    // A real Redis failure for the notify queue alone: BullMQ's job-id counter holding a
    // string makes every add of that queue fail, while persist jobs and pub/sub carry on.
    const counterKey = `${keyspace.queuePrefix}:notify:id`;
    const admin = connection("producer");
    await waitForReady(admin);
    await admin.set(counterKey, "not-a-number");
    const failedBefore = await handOffs("failed");
    try {
      const items = Array.from({ length: 20 }, (_, i) => item({ body: `no hand-off ${i}` }));
      await queue.addBulk(items.map((it) => ({ name: "persist", data: { replyTo: POD, items: [it] } })));
      const outcomes = await waitForAcks(items.map((i) => i.id));
      expect(outcomes.every((o) => o.ok && !o.duplicate)).toBe(true);
      await expect.poll(() => handOffs("failed"), { timeout: 5_000 }).toBeGreaterThan(failedBefore);
    } finally {
      await admin.del(counterKey);
    }
  });
});

async function handOffs(outcome: "ok" | "failed"): Promise<number> {
  const metric = await registry.getSingleMetric("parley_persist_handoffs_total")!.get();
  return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}
