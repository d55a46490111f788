import { randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase as openDatabase, type Database } from "@parley/db";
import { buildPersister, loadConfig as loadPersisterFrom, type Persister } from "@parley/persister";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { testLogger } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";
import { startCluster, type ClientSocket, type Cluster } from "./cluster.js";
import { parseExposition, samples, value } from "./exposition.js";

// Every start names its Redis (zero forms stop it); these services are handed their connections, so any URL does.
const loadPersisterConfig = (env: Record<string, string | undefined>) => loadPersisterFrom({ REDIS_URL: "redis://127.0.0.1:6379", ...env });

// The series added for operations (issue 4) appear with the right labels after the right
// traffic: the real services' code inside the test process, real Redis, Postgres and BullMQ.
let cluster: Cluster;
let alice: ClientSocket;
let bob: ClientSocket;
let conversationId: string;

// The persister is built here, not by the cluster, so that its /metrics registry can be read
// while its reader has not started: the entries wait in Redis as they would with every persister down.
const logger = testLogger();
const persisterRegistry = new Registry();
let persister: Persister;
let persisterDatabase: Database;
const persisterRedis: Redis[] = [];

const scrape = async (registry: Registry) => parseExposition(await registry.metrics());
const gatewayMetrics = () => scrape(cluster.nodes[0]!.registry);

beforeAll(async () => {
  cluster = await startCluster({ gateways: 1, persister: false, delivery: {}, gatewayEnv: { DEPENDENCY_CHECK_MS: "200" } });
  persisterRedis.push(
    createRedis({ url: testInfra().redisUrl, name: "metrics:persister:worker", role: "consumer", logger }),
    createRedis({ url: testInfra().redisUrl, name: "metrics:persister:publish", role: "producer", logger }),
  );
  await Promise.all(persisterRedis.map((r) => waitForReady(r)));
  persisterDatabase = openDatabase({ url: cluster.databaseUrl, max: 4 });
  persister = buildPersister({
    database: persisterDatabase,
    workerRedis: persisterRedis[0]!,
    publishRedis: persisterRedis[1]!,
    registry: persisterRegistry,
    logger,
    keyspace: cluster.keyspace,
    config: loadPersisterConfig({ POD_NAME: "metrics-persister", PERSIST_MAX_BATCH: "1000", PERSIST_LANES: "1", PERSIST_COMMIT_INTERVAL_MS: "0" }),
  });
  const aliceToken = await cluster.token("alice", "Alice");
  conversationId = (await cluster.createConversation(aliceToken, ["bob"])).id;
  alice = await cluster.connect(0, aliceToken);
  bob = await cluster.connect(0, await cluster.token("bob", "Bob"));
}, 60_000);
afterAll(async () => {
  await persister?.stop();
  await persisterDatabase?.close();
  await Promise.allSettled(persisterRedis.map((r) => r.quit()));
  await cluster?.stop();
});

// As a client does: a send refused before it was queued (UNAVAILABLE with retryAfterMs, the
// gateway's admission sample still showing the backlog the first test left) is sent again with
// the same clientMessageId; a time-out (no retryAfterMs) is answered as it is.
async function send(body: string) {
  const payload = { conversationId, clientMessageId: randomUUID(), body };
  for (let tries = 1; ; tries++) {
    const answer = await alice.timeout(10_000).emitWithAck("message:send", payload);
    const retryAfterMs = answer.ok ? undefined : answer.error.retryAfterMs;
    if (retryAfterMs === undefined || tries >= 20) return answer;
    await new Promise((resolve) => setTimeout(resolve, retryAfterMs));
  }
}

describe("persist stream and BullMQ queue metrics", () => {
  it("sends show as stream lag while no persister runs, and the backlog drains once one does", async () => {
    const before = await scrape(persisterRegistry);
    expect(value(before, "parley_persist_stream_lag")).toBe(0);
    expect(value(before, "parley_persist_stream_pending")).toBe(0);
    expect(value(before, "parley_persist_stream_oldest_pending_seconds")).toBe(0);
    expect(value(before, "parley_persist_entries_failed_total", { reason: "transient" })).toBe(0);
    // The persister exports no BullMQ series for sends any more (persist is a stream).
    expect(samples(before, "bullmq_job_count", { queue: "persist" })).toHaveLength(0);

    // No persister: the send times out (UNAVAILABLE) while its entry waits in the stream.
    expect(await send("while stopped")).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
    const waiting = await scrape(persisterRegistry);
    expect(value(waiting, "parley_persist_stream_lag")).toBeGreaterThanOrEqual(1);

    persister.run();
    await expect
      .poll(async () => {
        const m = await scrape(persisterRegistry);
        return [
          value(m, "parley_persist_stream_lag"),
          value(m, "parley_persist_stream_pending"),
          value(m, "parley_persist_messages_total", { outcome: "stored" }),
        ];
      }, { timeout: 15_000, interval: 100 })
      .toEqual([0, 0, 1]);
  });

  it("the delivery service exports its queues receipts, notify and push; a delivered watermark completes a receipts job", async () => {
    expect((await send("hello")).ok).toBe(true);
    expect(await bob.emitWithAck("message:delivered", { conversationId, seq: 2 })).toEqual({ ok: true });
    await expect
      .poll(async () => {
        // Every hand-off the persister made (the message stored above and the one stored when
        // it started: one job, or two when they fell in different hand-off windows) completed here.
        const handOffs = value(await scrape(persisterRegistry), "parley_persist_handoffs_total", { outcome: "ok" }) ?? 0;
        const m = await scrape(cluster.deliveryRegistry);
        const notify = value(m, "bullmq_job_completed_total", { queue: "notify" });
        return { receipts: value(m, "bullmq_job_completed_total", { queue: "receipts" }), everyHandOffCompleted: handOffs >= 1 && notify === handOffs };
      }, { timeout: 15_000, interval: 100 })
      .toEqual({ receipts: 1, everyHandOffCompleted: true });
    const m = await scrape(cluster.deliveryRegistry);
    for (const queue of ["receipts", "notify", "push"]) {
      expect(samples(m, "bullmq_job_count", { queue })).toHaveLength(8);
      expect(value(m, "bullmq_job_failed_total", { queue })).toBe(0);
    }
    // Only the delivery service's queues: persist belongs to the persister's export.
    expect(samples(m, "bullmq_job_count", { queue: "persist" })).toHaveLength(0);
  });
});

describe("message path metrics", () => {
  it("a committed batch is timed from commit to fan-out published", async () => {
    const count = async () => value(await scrape(persisterRegistry), "parley_persist_fanout_seconds_count") ?? 0;
    const before = await count();
    const heard = new Promise((resolve) => bob.once("message:new", resolve));
    expect((await send("timed")).ok).toBe(true);
    await heard;
    expect(await count()).toBe(before + 1);
    const m = await scrape(persisterRegistry);
    expect(value(m, "parley_persist_fanout_seconds_bucket", { le: "+Inf" })).toBe(before + 1);
    expect(value(m, "parley_persist_fanout_seconds_sum")).toBeGreaterThan(0);
  });

  it("sync is counted by outcome, and catch-up reads by the messages they return", async () => {
    expect(await alice.emitWithAck("sync", { cursors: { [conversationId]: 0 } })).toMatchObject({ ok: true });
    expect(await alice.emitWithAck("sync", { limit: 0 })).toMatchObject({ ok: false, error: { code: "VALIDATION" } });
    expect(await alice.emitWithAck("messages:history", { conversationId, limit: 2 })).toMatchObject({ ok: true, hasMore: true });
    const http = await cluster.http(0, "GET", `/v1/conversations/${conversationId}/messages?limit=1`, { token: await cluster.token("alice") });
    expect(http.status).toBe(200);

    const m = await gatewayMetrics();
    expect(value(m, "parley_gateway_sync_total", { outcome: "ok" })).toBe(1);
    expect(value(m, "parley_gateway_sync_total", { outcome: "VALIDATION" })).toBe(1);
    // The sync returned the conversation's 3 messages; the history pages 2 and 1.
    expect(value(m, "parley_gateway_sync_messages_count", { request: "sync" })).toBe(1);
    expect(value(m, "parley_gateway_sync_messages_sum", { request: "sync" })).toBe(3);
    expect(value(m, "parley_gateway_sync_messages_count", { request: "history" })).toBe(2);
    expect(value(m, "parley_gateway_sync_messages_sum", { request: "history" })).toBe(3);
  });

  it("disconnects are counted by Socket.IO's reason", async () => {
    const carol = await cluster.connect(0, await cluster.token("carol", "Carol"));
    carol.disconnect();
    const dave = await cluster.connect(0, await cluster.token("dave", "Dave"));
    const gone = new Promise((resolve) => dave.once("disconnect", resolve));
    // The server ends the socket (its namespace; the connection itself is left to the client).
    cluster.nodes[0]!.gateway.io.in(dave.id!).disconnectSockets();
    await gone;
    await expect
      .poll(async () => {
        const m = await gatewayMetrics();
        return samples(m, "parley_gateway_disconnects_total").map((s) => [s.labels.reason, s.value]);
      }, { timeout: 5_000, interval: 50 })
      .toEqual(expect.arrayContaining([["client namespace disconnect", 1], ["server namespace disconnect", 1]]));
  });

  it("parley_up and parley_ready are 1 on a gateway whose Redis and Postgres answer", async () => {
    const m = await gatewayMetrics();
    expect(value(m, "parley_up", { dependency: "redis" })).toBe(1);
    expect(value(m, "parley_up", { dependency: "postgres" })).toBe(1);
    expect(value(m, "parley_ready")).toBe(1);
  });
});
