import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyspace, JobCatalog } from "@parley/bus";
import { createConversation, createDatabase, persistBatch, type Database } from "@parley/db";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { createTestDatabase, testInfra, uniqueRedisPrefix } from "@parley/testkit/vitest";
import { testLogger, type TestDatabase } from "@parley/testkit";
import { buildDelivery, createWebhookNotifier, loadConfig as loadFrom } from "../src/index.js";

// Every start names its Redis (zero forms stop it); these services are handed their connections, so any URL does.
const loadConfig = (env: Record<string, string | undefined>) => loadFrom({ REDIS_URL: "redis://127.0.0.1:6379", ...env });

const logger = testLogger();
const keyspace = createKeyspace(uniqueRedisPrefix("delivery-drain"));
let testDb: TestDatabase;
let database: Database;
let server: Server;
let url: string;
const requests: number[] = [];
const connections: Redis[] = [];

const redis = (role: "producer" | "consumer") => {
  const r = createRedis({ url: testInfra().redisUrl, name: `drain-test:${role}`, role, logger });
  connections.push(r);
  return r;
};

beforeAll(async () => {
  testDb = await createTestDatabase();
  database = createDatabase({ url: testDb.url, max: 4 });
  // A slow receiver: the notification is still in flight when the drain starts.
  server = createServer((req, res) => {
    req.resume();
    requests.push(Date.now());
    setTimeout(() => res.writeHead(200).end(), 800);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await Promise.allSettled(connections.map((c) => c.quit()));
  await database?.close();
  await testDb?.drop();
  await new Promise((r) => server?.close(r));
});

describe("delivery drain", () => {
  it("stop() lets the notification in flight finish and completes its job before returning", async () => {
    const { conversation } = await createConversation(database.sql, { id: randomUUID(), kind: "group", createdBy: "alice", memberIds: ["bob"] });
    const registry = new Registry();
    const publishRedis = redis("producer");
    await waitForReady(publishRedis);
    const delivery = buildDelivery({
      database,
      workerRedis: redis("consumer"),
      publishRedis,
      registry,
      logger,
      keyspace,
      config: loadConfig({
        RECEIPT_CONCURRENCY: "4",
        RECEIPT_MAX_BATCH: "100",
        PUSH_COLLAPSE_MS: "0",
        PUSH_ATTEMPTS: "2",
        PUSH_BACKOFF_MS: "100",
        NOTIFY_CONCURRENCY: "1",
        PUSH_CONCURRENCY: "2",
        PUSH_PREVIEW_CHARS: "140",
        PRESENCE_TTL_MS: "20000",
        PRESENCE_FLUSH_MS: "1000",
        PRESENCE_OFFLINE_GRACE_MS: "2000",
      }),
      notifier: createWebhookNotifier({ url, secret: "s".repeat(32), timeoutMs: 5_000 }),
    });
    delivery.run();

    // The push reads the message from Postgres when it leaves: it must be stored.
    const [stored] = await persistBatch(database.sql, [
      { id: randomUUID(), conversationId: conversation.id, senderId: "alice", senderName: "Alice", clientMessageId: randomUUID(), kind: "text", body: "hi" },
    ]);
    if (!stored?.ok) throw new Error(JSON.stringify(stored));
    const m = stored.message;
    const notify = new Queue("notify", { connection: publishRedis, prefix: keyspace.queuePrefix });
    await notify.add(
      "notify",
      { messages: [{ id: m.id, conversationId: m.conversationId, seq: m.seq, senderId: m.senderId, senderName: m.senderName, kind: m.kind, createdAt: m.createdAt }] },
      JobCatalog.notify.options,
    );
    await expect.poll(() => requests.length, { timeout: 10_000 }).toBe(1);

    const stopping = performance.now();
    await delivery.stop();
    const stopMs = performance.now() - stopping;
    // It waited for the receiver's answer (800 ms after the request) instead of abandoning the job.
    expect(stopMs).toBeGreaterThan(300);
    const sent = await registry.getSingleMetric("parley_delivery_notifications_sent_total")!.get();
    expect(sent.values[0]?.value).toBe(1);
    const push = new Queue("push", { connection: publishRedis, prefix: keyspace.queuePrefix });
    expect(await push.getJobCounts("active", "wait", "delayed", "failed")).toEqual({ active: 0, wait: 0, delayed: 0, failed: 0 });
    await Promise.all([push.close(), notify.close()]);
  });
});
