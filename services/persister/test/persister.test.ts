import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AckBatchSchema, AckSchema, appendPersistEntry, createKeyspace, JobCatalog, readPersistBacklog, type Ack } from "@parley/bus";
import { createConversation, createDatabase, type Database, type PersistItem } from "@parley/db";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { createTestDatabase, testInfra, uniqueRedisPrefix } from "@parley/testkit/vitest";
import { holdConversationLock, testLogger, type TestDatabase } from "@parley/testkit";
import { buildPersister, loadConfig as loadFrom, type Persister, type PersisterConfig } from "../src/index.js";

// Every start names its Redis (zero forms stop it); these services are handed their connections, so any URL does.
const loadConfig = (env: Record<string, string | undefined>) => loadFrom({ REDIS_URL: "redis://127.0.0.1:6379", ...env });

const logger = testLogger();
const keyspace = createKeyspace(uniqueRedisPrefix("persister"));
const POD = "test-pod";

let testDb: TestDatabase;
let database: Database;
let producer: Redis;
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

/** The settings these tests run with: env values, plus what a test overrides in the parsed config. */
function testConfig(env: Record<string, string>, stream: Partial<PersisterConfig["stream"]> = {}): PersisterConfig {
  const config = loadConfig({ PERSIST_MAX_BATCH: "500", PERSIST_LANES: "4", PERSIST_COMMIT_INTERVAL_MS: "0", ...env });
  return { ...config, stream: { ...config.stream, ...stream } };
}

function startPersister(reg = new Registry(), over: { keyspace?: typeof keyspace; config?: PersisterConfig } = {}) {
  const persister = buildPersister({
    database,
    workerRedis: connection("consumer"),
    publishRedis: connection("producer"),
    registry: reg,
    logger,
    keyspace: over.keyspace ?? keyspace,
    config: over.config ?? testConfig({ POD_NAME: `persister-${persisters.length}` }),
  });
  persister.run();
  persisters.push(persister);
  return persister;
}

/** One gateway window of sends: one stream entry. */
const append = (items: unknown[], replyTo = POD) => appendPersistEntry(producer, keyspace.persist, { replyTo, items: items as PersistItem[] }, 1_000_000);
const appendEach = (items: PersistItem[]) => Promise.all(items.map((it) => append([it])));

/** A keyspace's dead-letter stream entries' ids. */
const deadLettersOf = async (ks: typeof keyspace) => (await producer.xrange(ks.persist.dead, "-", "+")).map(([id]) => id);

/** The dead-letter stream's entries, as field maps. */
async function deadLetters(): Promise<Record<string, string>[]> {
  const rows = await producer.xrange(keyspace.persist.dead, "-", "+");
  return rows.map(([, fields]) => Object.fromEntries(fields.flatMap((_, i) => (i % 2 === 0 ? [[fields[i], fields[i + 1]]] : []))));
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
  producer = connection("producer");
  await waitForReady(producer);
  const sub = connection("subscriber");
  await waitForReady(sub);
  sub.on("smessage", (_channel: string, raw: string) => acks.push(...AckBatchSchema.parse(JSON.parse(raw)).acks.map((a) => AckSchema.parse(a))));
  await sub.ssubscribe(keyspace.ackChannel(POD));
  registry = new Registry();
  startPersister(registry);
});

afterAll(async () => {
  for (const p of persisters) await p.stop();
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
  it("commits many entries together under load and answers each one", async () => {
    const items = Array.from({ length: 300 }, (_, i) => item({ body: `m${i}` }));
    await appendEach(items);
    const outcomes = await waitForAcks(items.map((i) => i.id));
    expect(outcomes.every((o) => o.ok && !o.duplicate)).toBe(true);
    const metric = await registry.getSingleMetric("parley_persist_batch_size")!.get();
    const count = metric.values.find((v) => (v as { metricName?: string }).metricName === "parley_persist_batch_size_count")!.value;
    // 300 messages in fewer transactions than messages: entries were merged.
    expect(count).toBeLessThan(300);
    const seqs = await database.sql<{ seq: number }[]>`select seq from messages where conversation_id = ${conversationId} order by seq`;
    expect(seqs.map((r) => r.seq)).toEqual(seqs.map((_, i) => i + 1));
    // Every entry was acknowledged to the group.
    await expect.poll(async () => ((await producer.xpending(keyspace.persist.stream, keyspace.persist.group)) as [number])[0], { timeout: 5_000 }).toBe(0);
  });

  it("dead-letters an invalid entry (its senders answered INTERNAL) and keeps the stream moving", async () => {
    const brokenId = randomUUID();
    const bad = await producer.xadd(keyspace.persist.stream, "*", "v", "1", "replyTo", POD, "items", JSON.stringify([{ id: brokenId, not: "a message" }]));
    const garbage = await producer.xadd(keyspace.persist.stream, "*", "v", "1", "replyTo", POD, "items", "{not json");
    const good = item({ body: "after the poison" });
    await append([good]);

    const [goodOutcome, brokenOutcome] = await waitForAcks([good.id, brokenId]);
    expect(goodOutcome).toMatchObject({ ok: true, message: { body: "after the poison" } });
    expect(brokenOutcome).toMatchObject({ ok: false, error: { code: "INTERNAL" } });
    await expect.poll(async () => (await deadLetters()).filter((d) => d.entry === bad || d.entry === garbage).length, { timeout: 5_000 }).toBe(2);
    const letters = (await deadLetters()).filter((d) => d.entry === bad || d.entry === garbage);
    expect(letters.every((d) => d.reason === "invalid" && d.error!.startsWith("invalid entry"))).toBe(true);
    expect(await counter("parley_persist_dead_letters_total", { reason: "invalid" })).toBeGreaterThanOrEqual(2);
    expect(await counter("parley_persist_entries_failed_total", { reason: "poison" })).toBeGreaterThanOrEqual(2);
  });

  it("commits the rest of an entry that holds a message Postgres refuses, and dead-letters that message", async () => {
    const before = item({ body: "before" });
    const nul = item({ body: "nul \u0000 in the middle" });
    const after = item({ body: "after" });
    const entryId = await append([before, nul, after]);
    const [a, n, b] = await waitForAcks([before.id, nul.id, after.id]);
    expect(a).toMatchObject({ ok: true, message: { body: "before" } });
    expect(b).toMatchObject({ ok: true, message: { body: "after" } });
    expect(n).toMatchObject({ ok: false, error: { code: "INTERNAL" } });
    await expect.poll(async () => (await deadLetters()).find((d) => d.entry === entryId), { timeout: 5_000 }).toBeDefined();
    const letter = (await deadLetters()).find((d) => d.entry === entryId)!;
    expect(letter.reason).toBe("refused");
    expect(letter.error).toMatch(/unicode|byte sequence|0x00/i);
    // Only the refused message is kept as evidence.
    expect(JSON.parse(letter.items!).map((i: PersistItem) => i.id)).toEqual([nul.id]);
    const rows = await database.sql`select 1 from messages where client_message_id = ${nul.clientMessageId}`;
    expect(rows).toHaveLength(0);
    // The stream keeps flowing.
    const next = item({ body: "next" });
    await append([next]);
    expect((await waitForAcks([next.id]))[0]).toMatchObject({ ok: true });
  });

  it("stores a message once when two persisters race over duplicates of it", async () => {
    startPersister();
    const items = Array.from({ length: 40 }, (_, i) => item({ body: `dup${i}` }));
    // Every message three times, spread over many entries the two persisters take at once.
    await appendEach([...items, ...items, ...items].sort(() => Math.random() - 0.5));
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
    await append([stray]);
    const [outcome] = await waitForAcks([stray.id]);
    expect(outcome).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  });

  it("hands committed messages to notifications as one job per window of commits (not one per message), duplicates left out", async () => {
    const notify = new Queue("notify", { connection: connection("producer"), prefix: keyspace.queuePrefix });
    const items = Array.from({ length: 200 }, (_, i) => item({ body: `handed ${i} ${"x".repeat(400)}` }));
    await appendEach(items);
    await waitForAcks(items.map((i) => i.id));
    // A retry of an already stored message is answered, and not handed off again.
    const retry = { ...items[0]!, id: randomUUID() };
    await append([retry]);
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
    // string makes every add of that queue fail, while the persist stream and pub/sub carry on.
    const counterKey = `${keyspace.queuePrefix}:notify:id`;
    const admin = connection("producer");
    await waitForReady(admin);
    await admin.set(counterKey, "not-a-number");
    const failedBefore = await handOffs("failed");
    try {
      const items = Array.from({ length: 20 }, (_, i) => item({ body: `no hand-off ${i}` }));
      await appendEach(items);
      const outcomes = await waitForAcks(items.map((i) => i.id));
      expect(outcomes.every((o) => o.ok && !o.duplicate)).toBe(true);
      await expect.poll(() => handOffs("failed"), { timeout: 5_000 }).toBeGreaterThan(failedBefore);
    } finally {
      await admin.del(counterKey);
    }
  });

  it("publishes where its uncommitted entries start, so entries committed and waiting for the hand-off's XACK are no backlog", async () => {
    const ks = createKeyspace(uniqueRedisPrefix("persister-mark"));
    const base = testConfig({ POD_NAME: "marked" });
    // A long hand-off window: committed entries stay pending (unacked) for 3 s.
    const p = startPersister(new Registry(), { keyspace: ks, config: { ...base, handOff: { windowMs: 3_000 } } });
    const sent = item({ body: "committed, not yet acked" });
    await appendPersistEntry(producer, ks.persist, { replyTo: POD, items: [sent] }, 1_000);
    await expect.poll(async () => (await database.sql`select 1 from messages where id = ${sent.id}`).length, { timeout: 10_000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    // Still pending (the hand-off holds its XACK), older than 400 ms, and not counted.
    expect(((await producer.xpending(ks.persist.stream, ks.persist.group)) as [number])[0]).toBe(1);
    expect(await producer.hget(ks.persist.uncommitted, "marked")).toMatch(/^\(\d+-\d+$/);
    expect((await readPersistBacklog(producer, ks.persist, 60_000)).ageMs).toBe(0);
    // A stopped persister takes its mark away: what it left pending counts from its start again.
    await p.stop();
    expect(await producer.hget(ks.persist.uncommitted, "marked")).toBeNull();
  });
});

describe("a conversation row held by another transaction", () => {
  it("commits the other conversations meanwhile, keeps the held one out of the admission signal, commits it in order once free, and leaves it pending on stop", async () => {
    const ks = createKeyspace(uniqueRedisPrefix("persister-held"));
    const p = startPersister(new Registry(), { keyspace: ks, config: testConfig({ POD_NAME: "held" }) });
    const other = (await createConversation(database.sql, { id: randomUUID(), kind: "group", createdBy: "alice", memberIds: ["bob"] })).conversation.id;
    const held = (await createConversation(database.sql, { id: randomUUID(), kind: "group", createdBy: "alice", memberIds: ["bob"] })).conversation.id;
    const release = await holdConversationLock(database.sql, held);
    const heldItems = [item({ conversationId: held, body: "h1" }), item({ conversationId: held, body: "h2" })];
    const otherItems = [item({ conversationId: other, body: "o1" }), item({ conversationId: other, body: "o2" })];
    // One entry with both conversations, then one of each.
    await appendPersistEntry(producer, ks.persist, { replyTo: POD, items: [heldItems[0]!, otherItems[0]!] }, 1_000);
    await appendPersistEntry(producer, ks.persist, { replyTo: POD, items: [heldItems[1]!] }, 1_000);
    await appendPersistEntry(producer, ks.persist, { replyTo: POD, items: [otherItems[1]!] }, 1_000);
    // (This keyspace's acks go to its own channel: the rows are what is checked.)
    const storedIn = async (id: string) => (await database.sql<{ body: string; seq: number }[]>`select body, seq from messages where conversation_id = ${id} order by seq`).map((r) => `${r.seq}:${r.body}`);
    await expect.poll(() => storedIn(other), { timeout: 10_000 }).toEqual(["1:o1", "2:o2"]);
    await new Promise((r) => setTimeout(r, 600));
    // The held conversation's entries are pending and older than 600 ms, yet no backlog.
    expect(((await producer.xpending(ks.persist.stream, ks.persist.group)) as [number])[0]).toBeGreaterThanOrEqual(2);
    expect((await readPersistBacklog(producer, ks.persist, 60_000)).ageMs).toBeLessThan(300);
    expect((await database.sql`select count(*)::int as n from messages where conversation_id = ${held}`)[0]!.n).toBe(0);
    await release();
    await expect.poll(() => storedIn(held), { timeout: 10_000 }).toEqual(["1:h1", "2:h2"]);
    await expect.poll(async () => ((await producer.xpending(ks.persist.stream, ks.persist.group)) as [number])[0], { timeout: 5_000 }).toBe(0);

    // Held again, then a stop: the waiting entry is neither stored nor acked; it stays pending.
    const release2 = await holdConversationLock(database.sql, held);
    const late = item({ conversationId: held, body: "h3" });
    await appendPersistEntry(producer, ks.persist, { replyTo: POD, items: [late] }, 1_000);
    await new Promise((r) => setTimeout(r, 300));
    await p.stop();
    await release2();
    expect(((await producer.xpending(ks.persist.stream, ks.persist.group)) as [number])[0]).toBe(1);
    expect(await deadLettersOf(ks)).toEqual([]);
    expect((await database.sql`select 1 from messages where id = ${late.id}`).length).toBe(0);
  });
});

describe("the persist stream's housekeeping", () => {
  it("a stop while entries keep arriving commits what it had read and leaves nothing pending with it", async () => {
    const consumer = "stopping-pod";
    const p = startPersister(new Registry(), { config: testConfig({ POD_NAME: consumer }) });
    let appending = true;
    const writer = (async () => {
      while (appending) {
        await append(Array.from({ length: 20 }, () => item()));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    // Lands while the reader waits in XREADGROUP, which then returns entries Redis counts as this pod's.
    await p.stop();
    appending = false;
    await writer;
    const pending = await producer.xpending(keyspace.persist.stream, keyspace.persist.group, "-", "+", 10_000, consumer);
    expect(pending).toEqual([]);
  });

  it("trims acked entries, so the stream stays short", async () => {
    const items = Array.from({ length: 1_000 }, (_, i) => item({ body: `trim ${i}` }));
    await appendEach(items);
    await waitForAcks(items.map((i) => i.id));
    await expect.poll(async () => ((await producer.xpending(keyspace.persist.stream, keyspace.persist.group)) as [number])[0], { timeout: 5_000 }).toBe(0);
    // The persisters' once-a-second trim; MINID ~ removes whole radix-tree nodes (100 entries
    // each), so at most about one node of acked entries is left.
    await expect.poll(() => producer.xlen(keyspace.persist.stream), { timeout: 5_000, interval: 100 }).toBeLessThanOrEqual(101);
    // Explicitly too: nothing pending, so everything up to the last delivered entry goes.
    await persisters[0]!.partitions.all()[0]!.maintenance.trim();
    expect(await producer.xlen(keyspace.persist.stream)).toBeLessThanOrEqual(101);
  });

  it("reclaims what a vanished consumer read, dead-letters an entry delivered too often, and forgets idle consumers", async () => {
    // A stream of its own, so the persisters above do not read these entries first.
    const ks = createKeyspace(uniqueRedisPrefix("reclaim"));
    await producer.xgroup("CREATE", ks.persist.stream, ks.persist.group, "0", "MKSTREAM");
    const items = Array.from({ length: 5 }, (_, i) => item({ body: `orphan ${i}` }));
    for (const it of items) await appendPersistEntry(producer, ks.persist, { replyTo: POD, items: [it] }, 1_000_000);
    const looping = item({ body: "crash loop" });
    const loopingId = (await appendPersistEntry(producer, ks.persist, { replyTo: POD, items: [looping] }, 1_000_000))!;
    // A persister that read them all and vanished.
    await producer.xreadgroup("GROUP", ks.persist.group, "ghost", "COUNT", 100, "STREAMS", ks.persist.stream, ">");
    // One of them was delivered over and over (every XCLAIM counts a delivery).
    for (let i = 0; i < 5; i++) await producer.xclaim(ks.persist.stream, ks.persist.group, "ghost", 0, loopingId);
    await producer.xgroup("CREATECONSUMER", ks.persist.stream, ks.persist.group, "long-gone");

    const reg = new Registry();
    startPersister(reg, {
      keyspace: ks,
      config: testConfig({ POD_NAME: "rescuer", PERSIST_CLAIM_IDLE_MS: "1000", PERSIST_MAX_DELIVERIES: "5" }, { consumerIdleMs: 500 }),
    });
    await expect
      .poll(async () => (await database.sql<{ n: number }[]>`select count(*)::int as n from messages where client_message_id in ${database.sql(items.map((i) => i.clientMessageId))}`)[0]!.n, { timeout: 10_000 })
      .toBe(5);
    await expect.poll(async () => ((await producer.xpending(ks.persist.stream, ks.persist.group)) as [number])[0], { timeout: 10_000 }).toBe(0);
    const value = async (name: string, labels: Record<string, string> = {}) =>
      (await reg.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    expect(await value("parley_persist_entries_reclaimed_total")).toBe(6);
    expect(await value("parley_persist_dead_letters_total", { reason: "redelivered" })).toBe(1);
    const dead = await producer.xrange(ks.persist.dead, "-", "+");
    expect(dead).toHaveLength(1);
    expect(dead[0]![1].slice(0, 6)).toEqual(["reason", "redelivered", "error", "delivered 7 times", "entry", loopingId]);
    const rows = await database.sql`select 1 from messages where client_message_id = ${looping.clientMessageId}`;
    expect(rows).toHaveLength(0);
    // The vanished consumers (nothing pending, idle) are removed from the group; the live one stays.
    await expect
      .poll(async () => ((await producer.xinfo("CONSUMERS", ks.persist.stream, ks.persist.group)) as unknown[][]).map((c) => c[1]).sort(), { timeout: 10_000 })
      .toEqual(["rescuer"]);
    // The stream metrics say the backlog is gone.
    const metrics = await reg.metrics();
    expect(metrics).toMatch(/^parley_persist_stream_lag{partition="0"} 0$/m);
    expect(metrics).toMatch(/^parley_persist_stream_pending{partition="0"} 0$/m);
    expect(metrics).toMatch(/^parley_persist_stream_oldest_pending_seconds{partition="0"} 0$/m);
  });
});

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

async function handOffs(outcome: "ok" | "failed"): Promise<number> {
  const metric = await registry.getSingleMetric("parley_persist_handoffs_total")!.get();
  return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}
