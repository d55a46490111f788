import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, startRedis, type ServerHandle } from "@parley/testkit";
import { startCluster, type ClientSocket, type Cluster } from "./cluster.js";

// Servers of this file's own: stopping them must not disturb tests running beside it.
let redis: ServerHandle;
let postgres: ServerHandle;
let cluster: Cluster;
let alice: ClientSocket;
let bob: ClientSocket;
let conversationId: string;

beforeAll(async () => {
  [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  cluster = await startCluster({ gateways: 2, redisUrl: redis.url, adminDatabaseUrl: postgres.url, delivery: {} });
  const aliceToken = await cluster.token("alice", "Alice");
  conversationId = (await cluster.createConversation(aliceToken, ["bob"])).id;
  alice = await cluster.connect(0, aliceToken);
  bob = await cluster.connect(1, await cluster.token("bob", "Bob"));
  for (let i = 1; i <= 6; i++) {
    const ack = await alice.emitWithAck("message:send", { conversationId, clientMessageId: randomUUID(), body: `m${i}` });
    if (!ack.ok) throw new Error(JSON.stringify(ack));
  }
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
  await Promise.allSettled([redis?.close(), postgres?.close()]);
});

const delivered = (seq: number) => bob.timeout(10_000).emitWithAck("message:delivered", { conversationId, seq });

/** Resolves with bob's delivered receipt for `seq` as alice hears it (earlier ones may still be on their way). */
function receiptFor(seq: number, timeoutMs = 15_000) {
  return new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no receipt for seq ${seq}`)), timeoutMs);
    const on = (r: { userId: string; kind: string; seq: number }) => {
      if (r.userId !== "bob" || r.kind !== "delivered" || r.seq !== seq) return;
      clearTimeout(timer);
      alice.off("receipt", on);
      resolve(r);
    };
    alice.on("receipt", on);
  });
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work;
  return { value, ms: performance.now() - started };
}

async function untilOk(attempt: () => Promise<{ ok: boolean }>, deadlineMs = 20_000) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ack = await attempt();
    if (ack.ok) return ack;
    if (Date.now() > until) throw new Error(`still failing after ${deadlineMs} ms: ${JSON.stringify(ack)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("receipts through outages", () => {
  it("Redis away: message:delivered is answered UNAVAILABLE within 2 s; back: receipts flow again by themselves", async () => {
    const first = receiptFor(1);
    expect(await delivered(1)).toEqual({ ok: true });
    await first;

    await redis.stop();
    const { value, ms } = await timed(delivered(2));
    expect(value).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
    expect(ms).toBeLessThan(2_000);
    await redis.start();

    await untilOk(() => delivered(3));
    // The delivery worker reconnected and the gateway's adapter re-subscribed: receipts arrive.
    const next = receiptFor(4);
    expect(await delivered(4)).toEqual({ ok: true });
    await next;
  });

  it("Postgres away: delivered is still answered (it waits in Redis) and applied once Postgres is back; read is UNAVAILABLE", async () => {
    await postgres.stop();
    expect(await delivered(5)).toEqual({ ok: true });
    const { value, ms } = await timed(bob.timeout(10_000).emitWithAck("message:read", { conversationId, seq: 4 }));
    expect(value).toMatchObject({ ok: false, error: { code: "UNAVAILABLE" } });
    expect(ms).toBeLessThan(2_000);

    const receipt = receiptFor(5, 30_000);
    await postgres.start();
    // BullMQ retried the job with backoff until Postgres answered.
    await receipt;
    const read = await untilOk(() => bob.timeout(10_000).emitWithAck("message:read", { conversationId, seq: 4 }));
    expect(read).toEqual({ ok: true, lastReadSeq: 4, unreadCount: 2 });
  });
});
