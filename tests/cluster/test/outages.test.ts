import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, startRedis, type ServerHandle } from "@parley/testkit";
import { startCluster, type ClientSocket, type Cluster } from "./cluster.js";

// Servers of this file's own: stopping them must not disturb tests running beside it.
let redis: ServerHandle;
let postgres: ServerHandle;
let cluster: Cluster;
let socket: ClientSocket;
let conversationId: string;

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  cluster = await startCluster({ gateways: 2, redisUrl: redis.url, adminDatabaseUrl: postgres.url });
  const alice = await cluster.token("alice", "Alice");
  conversationId = (await cluster.createConversation(alice, ["bob"])).id;
  socket = await cluster.connect(1, alice);
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
  await Promise.allSettled([redis?.close(), postgres?.close()]);
});

const send = (clientMessageId: string = randomUUID(), body = "hi") =>
  socket.timeout(10_000).emitWithAck("message:send", { conversationId, clientMessageId, body });

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

/** Retries like a client would until the send is acked. */
async function sendUntilOk(clientMessageId: string, body: string, deadlineMs = 20_000) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ack = await send(clientMessageId, body);
    if (ack.ok) return ack;
    expect(ack.error.code).toBe("UNAVAILABLE");
    if (Date.now() > until) throw new Error(`still unavailable after ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("outages answer UNAVAILABLE within 2 s and recover without a restart", () => {
  it("Redis going away and coming back", async () => {
    expect((await send()).ok).toBe(true);
    await redis.stop();
    const { value, ms } = await timed(send());
    expect(value).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
    expect(ms).toBeLessThan(2_000);
    const ready = await cluster.http(0, "GET", "/readyz");
    expect(ready.status).toBe(503);

    await redis.start();
    const id = randomUUID();
    const ack = await sendUntilOk(id, "after redis");
    expect(ack.ok && ack.message.body).toBe("after redis");
    // Live fan-out works again too: the adapter re-subscribed.
    const bob = await cluster.connect(0, await cluster.token("bob", "Bob"));
    const delivered = new Promise((resolve) => bob.once("message:new", resolve));
    expect((await send()).ok).toBe(true);
    await delivered;
    expect((await cluster.http(0, "GET", "/readyz")).status).toBe(200);
  });

  it("Postgres going away and coming back, losing nothing that was answered UNAVAILABLE", async () => {
    const before = await send();
    if (!before.ok) throw new Error(JSON.stringify(before));
    await postgres.stop();
    const id = randomUUID();
    const { value, ms } = await timed(send(id, "during the outage"));
    expect(value).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
    expect(ms).toBeLessThan(2_000);
    const http = await cluster.http(0, "GET", `/v1/conversations/${conversationId}/messages`, { token: await cluster.token("alice") });
    expect(http.status).toBe(503);
    expect(http.body.error.code).toBe("UNAVAILABLE");
    // Edits, reactions and search too (issue 3), each within the same bound.
    const messageId = before.message.id;
    for (const [event, payload] of [
      ["message:edit", { messageId, body: "edited in the dark" }],
      ["message:delete", { messageId }],
      ["reaction:add", { messageId, emoji: "🔥" }],
      ["reaction:remove", { messageId, emoji: "🔥" }],
    ] as const) {
      const answer = await timed(socket.timeout(10_000).emitWithAck(event as "message:edit", payload as { messageId: string; body: string }));
      expect({ event, ack: answer.value }).toMatchObject({ event, ack: { ok: false, error: { code: "UNAVAILABLE" } } });
      expect(answer.ms).toBeLessThan(2_000);
    }
    const search = await timed(cluster.http(1, "GET", "/v1/search?q=hi", { token: await cluster.token("alice") }));
    expect({ status: search.value.status, code: search.value.body.error.code }).toEqual({ status: 503, code: "UNAVAILABLE" });
    expect(search.ms).toBeLessThan(2_000);

    // More sends during the outage: answered UNAVAILABLE. A time-out (no retryAfterMs) left its
    // entry waiting in the persist stream (retried with backoff by the persister, never
    // dead-lettered for an outage); one refused before queuing (retryAfterMs: admission control,
    // the backlog is older than its budget) was not stored.
    const waiting = Array.from({ length: 20 }, (_, i) => ({ id: randomUUID(), body: `waiting ${i}` }));
    const answers = await Promise.all(waiting.map((w) => send(w.id, w.body)));
    expect(answers.every((a) => !a.ok && a.error.code === "UNAVAILABLE")).toBe(true);
    const refusedBeforeQueuing = (i: number) => {
      const a = answers[i]!;
      return !a.ok && a.error.retryAfterMs !== undefined;
    };
    const queued = waiting.filter((_, i) => !refusedBeforeQueuing(i));
    const refused = waiting.filter((_, i) => refusedBeforeQueuing(i));
    const storedOf = async (ws: typeof waiting) =>
      ws.length === 0 ? 0 : (await cluster.database.sql<{ n: number }[]>`select count(*)::int as n from messages where client_message_id in ${cluster.database.sql(ws.map((w) => w.id))}`)[0]!.n;

    await postgres.start();
    // Committed from the stream once Postgres is back, before any client retries; the refused
    // ones are not.
    await expect.poll(() => storedOf(queued), { timeout: 30_000, interval: 250 }).toBe(queued.length);
    expect(await storedOf(refused)).toBe(0);
    // The senders retry and get the stored answer (a refused send is stored by its retry).
    for (const w of waiting) {
      const retry = await sendUntilOk(w.id, w.body);
      const [row] = await cluster.database.sql<{ id: string; seq: string }[]>`select id, seq from messages where client_message_id = ${w.id}`;
      expect(retry.ok && { id: retry.message.id, seq: retry.message.seq, duplicate: retry.duplicate }).toEqual({ id: row!.id, seq: Number(row!.seq), duplicate: refused.includes(w) ? retry.ok && retry.duplicate : true });
    }
    const persisterMetrics = await cluster.persisterRegistry.getMetricsAsJSON();
    const family = (name: string) => persisterMetrics.find((m) => m.name === name)!.values;
    expect(family("parley_persist_entries_failed_total").find((v) => v.labels.reason === "transient")!.value).toBeGreaterThan(0);
    expect(family("parley_persist_dead_letters_total").every((v) => v.value === 0)).toBe(true);

    // The client retries with the same clientMessageId: stored once, whichever attempt won.
    const ack = await sendUntilOk(id, "during the outage");
    if (!ack.ok) throw new Error("unreachable");
    const rows = await cluster.database.sql`select seq from messages where client_message_id = ${id}`;
    expect(rows).toHaveLength(1);
    const seqs = await cluster.database.sql<{ seq: number }[]>`select seq from messages where conversation_id = ${conversationId} order by seq`;
    expect(seqs.map((r) => r.seq)).toEqual(seqs.map((_, i) => i + 1));
    // Nothing half-done by the refused changes, and they work again.
    const [row] = await cluster.database.sql`select body, edited_at, deleted_at from messages where id = ${messageId}`;
    expect(row).toEqual({ body: "hi", edited_at: null, deleted_at: null });
    expect(await socket.emitWithAck("message:edit", { messageId, body: "edited after" })).toMatchObject({ ok: true, message: { body: "edited after" } });
    expect((await cluster.http(0, "GET", "/v1/search?q=edited", { token: await cluster.token("alice") })).body.messages).toHaveLength(1);
  });
});
