import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { createDatabase as openDatabase } from "@parley/db";
import { buildPersister, loadConfig as loadPersisterFrom } from "@parley/persister";
import { createRedis, waitForReady } from "@parley/runtime";
import { testLogger } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";
import { startCluster, type Cluster, type ClientSocket } from "./cluster.js";

// Every start names its Redis (zero forms stop it); these services are handed their connections, so any URL does.
const loadPersisterConfig = (env: Record<string, string | undefined>) => loadPersisterFrom({ REDIS_URL: "redis://127.0.0.1:6379", ...env });

// Admission control (protocol: "A send the cluster cannot take now is refused before it is
// queued: UNAVAILABLE with retryAfterMs, and it was not stored"). The persist path is made to
// lag for real: the cluster starts without a persister, so the stream's backlog grows; a
// persister started later catches up, and sends are taken again.

const logger = testLogger();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step().catch(() => {});
});

/** A persister for the cluster, started late (the one in cluster.ts starts with the gateways). */
async function startPersister(cluster: Cluster) {
  const database = openDatabase({ url: cluster.databaseUrl, max: 4, connectTimeoutSeconds: 1 });
  const worker = createRedis({ url: testInfra().redisUrl, name: "admission:persister", role: "consumer", logger });
  const publish = createRedis({ url: testInfra().redisUrl, name: "admission:publish", role: "producer", logger });
  await Promise.all([waitForReady(worker), waitForReady(publish)]);
  const persister = buildPersister({
    database,
    workerRedis: worker,
    publishRedis: publish,
    registry: new Registry(),
    logger,
    keyspace: cluster.keyspace,
    config: loadPersisterConfig({ POD_NAME: "persister-late", PERSIST_COMMIT_INTERVAL_MS: "0" }),
  });
  persister.run();
  cleanups.push(async () => {
    await persister.stop();
    await database.close();
    await Promise.allSettled([worker.quit(), publish.quit()]);
  });
}

async function setUp(gatewayEnv: Record<string, string>) {
  const cluster = await startCluster({ gateways: 2, persister: false, gatewayEnv: { ADMISSION_SAMPLE_MS: "25", ...gatewayEnv } });
  cleanups.push(() => cluster.stop());
  const alice = await cluster.token("adm-alice", "Alice");
  const conversationId = (await cluster.createConversation(alice, ["adm-bob"])).id;
  const socket = await cluster.connect(0, alice);
  const xlen = () => cluster.nodes[0]!.redis[0]!.xlen(cluster.keyspace.persist.stream);
  const stored = async (clientMessageIds: string[]) =>
    (
      await cluster.database.sql<{ client_message_id: string }[]>`
        select client_message_id from messages where sender_id = 'adm-alice' and client_message_id in ${cluster.database.sql(clientMessageIds)}`
    ).map((r) => r.client_message_id);
  return { cluster, alice, conversationId, socket, xlen, stored };
}

const sendOn = (socket: ClientSocket, conversationId: string, clientMessageId = randomUUID(), body = "hello") =>
  socket.emitWithAck("message:send", { conversationId, clientMessageId, body }).then((ack) => ({ clientMessageId, ack }));

/** Until a send on `socket` is refused before queuing (at most `ms`); the admitted ones are returned too. */
async function sendUntilRefused(socket: ClientSocket, conversationId: string, body = "hello", ms = 5_000) {
  const admitted: Promise<unknown>[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const clientMessageId = randomUUID();
    const answer = sendOn(socket, conversationId, clientMessageId, body);
    const first = await Promise.race([answer, sleep(60).then(() => undefined)]);
    if (first && !first.ack.ok && first.ack.error.retryAfterMs !== undefined) return { refused: first, admitted };
    admitted.push(answer);
  }
  throw new Error("no send was refused before queuing");
}

describe("admission control on the persist delay", () => {
  it("refuses sends before queuing while the persist path lags, stores none of them, and takes sends again once it catches up", async () => {
    const { cluster, alice, conversationId, socket, xlen, stored } = await setUp({ ADMISSION_MAX_PERSIST_DELAY_MS: "300" });

    // No persister: the first sends wait in the stream, the oldest one ages past 300 ms.
    const { refused, admitted } = await sendUntilRefused(socket, conversationId);
    expect(admitted.length).toBeGreaterThan(0);
    expect(refused.ack).toEqual({ ok: false, error: { code: "UNAVAILABLE", message: expect.any(String), retryAfterMs: expect.any(Number) } });

    // Every new send now, socket or HTTP, on either gateway, is refused and queues nothing.
    await sleep(100); // the gateways' buffers have landed in the stream
    const lengthBefore = await xlen();
    const refusedIds = [refused.clientMessageId];
    const other = await cluster.connect(1, alice);
    for (const s of [socket, other, socket, other]) {
      const { clientMessageId, ack } = await sendOn(s, conversationId);
      expect(ack.ok).toBe(false);
      if (!ack.ok) {
        expect(ack.error.code).toBe("UNAVAILABLE");
        expect(ack.error.retryAfterMs).toBeGreaterThan(0);
        expect(ack.error.retryAfterMs).toBeLessThanOrEqual(10_000);
      }
      refusedIds.push(clientMessageId);
    }
    for (const node of [0, 1]) {
      const clientMessageId = randomUUID();
      const res = await cluster.http(node, "POST", `/v1/conversations/${conversationId}/messages`, { token: alice, body: { clientMessageId, body: "over http" } });
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ error: { code: "UNAVAILABLE", message: expect.any(String) } });
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      refusedIds.push(clientMessageId);
    }
    await sleep(100);
    expect(await xlen()).toBe(lengthBefore);
    const metricsText = await (await fetch(`${cluster.url(0)}/metrics`)).text();
    expect(Number(/parley_gateway_admission_refused_total\{reason="persist_delay"[^}]*\} (\d+)/.exec(metricsText)?.[1])).toBeGreaterThanOrEqual(3);

    // The persister comes: it commits the backlog, the delay falls under the budget, sends are taken.
    await startPersister(cluster);
    await Promise.allSettled(admitted);
    const end = Date.now() + 10_000;
    let accepted: Awaited<ReturnType<typeof sendOn>> | undefined;
    while (Date.now() < end) {
      const attempt = await sendOn(socket, conversationId);
      if (attempt.ack.ok) {
        accepted = attempt;
        break;
      }
      await sleep(attempt.ack.error.retryAfterMs ?? 100);
    }
    expect(accepted?.ack.ok).toBe(true);

    // None of the refused sends was stored, though everything that was queued is committed now;
    // their retries (same clientMessageId) are stored once, as new messages.
    expect(await stored(refusedIds)).toEqual([]);
    const retry = await sendOn(socket, conversationId, refusedIds[0]);
    expect(retry.ack).toMatchObject({ ok: true, duplicate: false });
    expect(await stored(refusedIds)).toEqual([refusedIds[0]]);
  });
});

describe("admission control on the persist stream's bytes", () => {
  it("refuses sends before queuing while the stream is over its byte budget, and takes them again once it is trimmed", async () => {
    // A delay budget no test reaches: only the bytes can refuse here.
    const { cluster, conversationId, socket, xlen, stored } = await setUp({ ADMISSION_MAX_PERSIST_DELAY_MS: "60000", PERSIST_STREAM_MAX_BYTES: "65536" });
    const big = "x".repeat(4_000);
    const { refused, admitted } = await sendUntilRefused(socket, conversationId, big);
    // 64 KiB of 4,000-character messages: about 16 of them went in before the refusals began.
    expect(admitted.length).toBeGreaterThanOrEqual(10);
    expect(refused.ack).toEqual({ ok: false, error: { code: "UNAVAILABLE", message: expect.any(String), retryAfterMs: expect.any(Number) } });
    await sleep(100);
    const lengthBefore = await xlen();
    const again = await sendOn(socket, conversationId, randomUUID(), big);
    expect(again.ack).toMatchObject({ ok: false, error: { code: "UNAVAILABLE", retryAfterMs: expect.any(Number) } });
    await sleep(100);
    expect(await xlen()).toBe(lengthBefore);
    const metricsText = await (await fetch(`${cluster.url(0)}/metrics`)).text();
    expect(Number(/parley_gateway_admission_refused_total\{reason="stream_bytes"[^}]*\} (\d+)/.exec(metricsText)?.[1])).toBeGreaterThanOrEqual(2);
    expect(Number(/parley_gateway_persist_stream_bytes(?:\{[^}]*\})? (\d+)/.exec(metricsText)?.[1])).toBeGreaterThan(65_536);

    // The persister commits and trims what it committed: the stream shrinks and sends are taken.
    await startPersister(cluster);
    await Promise.allSettled(admitted);
    const end = Date.now() + 15_000;
    let ok = false;
    while (!ok && Date.now() < end) {
      const attempt = await sendOn(socket, conversationId, randomUUID(), big);
      ok = attempt.ack.ok;
      if (!attempt.ack.ok) await sleep(attempt.ack.error.retryAfterMs ?? 100);
    }
    expect(ok).toBe(true);
    expect(await stored([refused.clientMessageId, again.clientMessageId])).toEqual([]);
  });
});
