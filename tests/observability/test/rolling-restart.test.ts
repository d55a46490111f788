import postgres from "postgres";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startLocalCluster, type LocalCluster } from "./local-cluster.js";
import { ResilientClient, type Reconnect } from "./resilient-client.js";

/*
 * A rolling restart of the local gateways under load, as Kubernetes does it: SIGTERM one
 * gateway, let it drain and exit, start it again on the same port, wait for ready, then the
 * next. Clients on both gateways keep sending throughout, each message with its own
 * clientMessageId, re-sent after a reconnect until acked. Nothing may be lost or stored
 * twice, every conversation's seqs stay gap-free, and every member ends with every message
 * once, in seq order.
 */

const USERS = 12;
const CONVERSATIONS = 4;
const SEND_EVERY_MS = 400;
// The drain: DRAIN_DELAY_MS (a fifth of the grace, 1.6 s) not ready, then sockets closed over
// SHUTDOWN_GRACE_MS − DRAIN_DELAY_MS − 3 s (services/gateway/src/drain.ts): 3.4 s here.
const SHUTDOWN_GRACE_MS = 8_000;

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const note = (text: string) => process.stdout.write(`[rolling-restart] ${text}\n`);

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(100);
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

let cluster: LocalCluster;
const clients: ResilientClient[] = [];

beforeAll(async () => {
  cluster = await startLocalCluster({ shutdownGraceMs: SHUTDOWN_GRACE_MS });
}, 90_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await cluster?.close();
});

it("a rolling restart of both gateways under load loses no message and stores none twice; clients come back", async () => {
  const userIds = Array.from({ length: USERS }, (_, i) => `roller-${i}`);
  // Conversation k: the users with i % 4 == k or (i + 1) % 4 == k: six members, spread over both gateways.
  const membersOf = (k: number) => userIds.filter((_, i) => i % CONVERSATIONS === k || (i + 1) % CONVERSATIONS === k);
  const conversations: string[] = [];
  for (let k = 0; k < CONVERSATIONS; k++) conversations.push(await cluster.createGroup(membersOf(k)[0]!, membersOf(k), `rolling ${k}`));
  const gatewayUrls = cluster.gateways.map((g) => g.url);
  for (const [i, userId] of userIds.entries()) {
    clients.push(
      new ResilientClient({
        userId,
        token: await cluster.token(userId),
        gateways: gatewayUrls,
        start: i % gatewayUrls.length,
        conversations: conversations.filter((_, k) => membersOf(k).includes(userId)),
        sendEveryMs: SEND_EVERY_MS,
      }),
    );
  }
  await Promise.all(clients.map((c) => c.connect()));
  // A stock Socket.IO client on each gateway, with nothing but the library's own reconnection
  // (as the contract's connection example): it must come back by itself after the drain.
  const stock = await Promise.all(
    gatewayUrls.map(async (url, i) => {
      const socket: Socket = io(url, { auth: { token: await cluster.token(`stock-${i}`) }, transports: ["websocket"], forceNew: true });
      const seen = { sessions: 0, drops: [] as { reason: string; at: number; backAt?: number }[] };
      socket.on("session:ready", () => {
        seen.sessions += 1;
        const drop = seen.drops.at(-1);
        if (drop && drop.backAt === undefined) drop.backAt = Date.now();
      });
      socket.on("disconnect", (reason) => seen.drops.push({ reason, at: Date.now() }));
      await until(() => seen.sessions === 1, 10_000, "the stock client's session");
      return { socket, seen };
    }),
  );
  for (const client of clients) client.startSending();
  await delay(3_000);

  // The rolling restart: one gateway at a time, as a Deployment with maxUnavailable 1 does.
  const restarts: { pod: string; drainMs: number; exitCode: number | null; startMs: number }[] = [];
  for (const gateway of cluster.gateways) {
    const stopAt = Date.now();
    const exitCode = await gateway.terminate();
    const drainMs = Date.now() - stopAt;
    const startAt = Date.now();
    await gateway.start();
    restarts.push({ pod: gateway.pod, drainMs, exitCode, startMs: Date.now() - startAt });
    // Ready again: let clients settle before the next pod goes, as the rollout waits for readiness.
    await delay(2_000);
  }
  await delay(2_000);
  for (const client of clients) client.stopSending();

  // The stock clients reconnected by themselves (to the same URL: here that is the restarted pod).
  await until(() => stock.every((c) => c.socket.connected && c.seen.drops.length > 0 && c.seen.drops.every((d) => d.backAt !== undefined)), 20_000, "the stock clients to come back");
  for (const c of stock) c.socket.off("disconnect").close();

  // Every message acked (re-sent over the new sockets as needed), every member caught up.
  await until(() => clients.every((c) => c.outbox.size === 0 && c.connected), 30_000, "every message acked");
  const sql = postgres(cluster.database.url, { max: 1, onnotice: () => {} });
  try {
    const lastSeqs = new Map(
      (await sql<{ id: string; last_seq: string }[]>`select id::text, last_seq from conversations where id in ${sql(conversations)}`).map((r) => [r.id, Number(r.last_seq)]),
    );
    const caughtUp = () => clients.every((c) => [...c.logs].every(([id, log]) => log.cursor === lastSeqs.get(id)));
    const liveOnly = await until(caughtUp, 5_000, "live delivery").then(() => true, () => false);
    // A message fanned out while nothing revealed its gap afterwards: the sync a client does when it next looks.
    if (!liveOnly) await Promise.all(clients.map((c) => c.sync()));
    await until(caughtUp, 10_000, "every member to have every message");

    // Postgres: every message each client made is stored exactly once, as its ack said.
    type Row = { id: string; conversation_id: string; seq: string; sender_id: string; client_message_id: string };
    const rows: Row[] = await sql<Row[]>`
      select id::text, conversation_id::text, seq, sender_id, client_message_id::text
      from messages where conversation_id in ${sql(conversations)} order by conversation_id, seq`;
    const stored = new Map<string, Row[]>();
    for (const row of rows) {
      const key = `${row.sender_id}/${row.client_message_id}`;
      stored.set(key, [...(stored.get(key) ?? []), row]);
    }
    const problems: string[] = [];
    let made = 0;
    for (const client of clients) {
      for (const [clientMessageId, conversationId] of client.created) {
        made += 1;
        const copies = stored.get(`${client.userId}/${clientMessageId}`) ?? [];
        if (copies.length !== 1) problems.push(`${client.userId}/${clientMessageId}: stored ${copies.length} times`);
        const ack = client.acked.get(clientMessageId);
        if (!ack) problems.push(`${client.userId}/${clientMessageId}: never acked`);
        else if (copies[0] && (copies[0].id !== ack.id || Number(copies[0].seq) !== ack.seq || copies[0].conversation_id !== conversationId)) {
          problems.push(`${client.userId}/${clientMessageId}: acked as ${ack.id} seq ${ack.seq}, stored as ${copies[0].id} seq ${copies[0].seq}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(rows).toHaveLength(made);

    // Gap-free seqs, and every member holds exactly the stored messages of its conversations, in seq order.
    for (const conversationId of conversations) {
      const ids = rows.filter((r) => r.conversation_id === conversationId).map((r) => r.id);
      const seqs = rows.filter((r) => r.conversation_id === conversationId).map((r) => Number(r.seq));
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(lastSeqs.get(conversationId)).toBe(seqs.length);
      for (const client of clients) {
        const log = client.logs.get(conversationId);
        if (!log) continue;
        expect(log.mismatches).toEqual([]);
        expect(log.delivered.map((m) => m.id)).toEqual(ids);
      }
    }

    // What happened, for the report.
    const drops: Reconnect[] = clients.flatMap((c) => c.reconnects);
    const back = drops.map((d) => d.reconnectedAt! - d.disconnectedAt);
    const acked = drops.filter((d) => d.firstAckAt !== undefined).map((d) => d.firstAckAt! - d.disconnectedAt);
    const via = { live: 0, sync: 0, repeats: 0 };
    for (const client of clients) {
      for (const log of client.logs.values()) {
        via.live += log.via.live;
        via.sync += log.via.sync;
        via.repeats += log.repeats;
      }
    }
    const failures: Record<string, number> = {};
    for (const client of clients) for (const [code, n] of Object.entries(client.failures)) failures[code] = (failures[code] ?? 0) + n;
    note(`restarts: ${restarts.map((r) => `${r.pod} drained and exited ${r.exitCode} in ${r.drainMs} ms, ready again ${r.startMs} ms after`).join("; ")}`);
    note(`${made} messages from ${USERS} clients in ${CONVERSATIONS} conversations, stored once each; ` +
      `${clients.reduce((n, c) => n + c.duplicateAnswers, 0)} re-sends answered duplicate: true, ${clients.reduce((n, c) => n + c.duplicateAcks, 0)} acked twice, ` +
      `failed attempts ${JSON.stringify(failures)} (re-sent until acked)`);
    note(`deliveries: ${via.live} live, ${via.sync} by sync, ${via.repeats} repeats dropped by seq; live-only catch-up at the end: ${liveOnly}`);
    note(`${drops.length} disconnects (${[...new Set(drops.map((d) => d.reason))].join(", ")}); ` +
      `disconnect → session ready again: p50 ${percentile(back, 50)} ms, max ${Math.max(...back)} ms; ` +
      `disconnect → first ack after it: p50 ${percentile(acked, 50)} ms, max ${Math.max(...acked)} ms (over ${acked.length}); ` +
      `attempts per reconnect max ${Math.max(...drops.map((d) => d.attempts))}`);

    note(`stock Socket.IO clients (library reconnection, same URL): ${stock
      .map((c, i) => `gateway-${i}: ${c.seen.drops.map((d) => `${d.reason} → back after ${d.backAt! - d.at} ms`).join(", ")}`)
      .join("; ")}`);

    for (const restart of restarts) {
      expect(restart.exitCode).toBe(0);
      expect(restart.drainMs).toBeLessThan(SHUTDOWN_GRACE_MS + 2_000);
    }
    // Both restarts moved clients: each client was dropped at least once, and every drop came back.
    expect(new Set(drops.map((d) => clients.find((c) => c.reconnects.includes(d))!.userId)).size).toBe(USERS);
    expect(drops.every((d) => d.reconnectedAt !== undefined)).toBe(true);
    expect(failures.CONFLICT).toBeUndefined();
  } finally {
    await sql.end({ timeout: 5 });
  }
}, 120_000);
