// Changing PERSIST_PARTITIONS on a running cluster (docs/operations.md, "Persist partitions"):
// every service a real process on the run's Redis (a Redis of its own, so no other file's
// streams are seen) and PostgreSQL. Sends flow through two gateways the whole time while the
// count goes 1 → 4 (one gateway, then the persister, then the other gateway) and back to 2;
// afterwards every acked message is stored once with its acked seq, no conversation has a seq
// gap, and the partitions left behind were drained and can be deleted.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { io as connectClient } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyspace, persistPartitionOf } from "@parley/bus";
import { createDatabase as openDatabase, type Database } from "@parley/db";
import { createDatabase, freePort, ServiceProcess, signToken, startRedis, type ServerHandle, type TestDatabase } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";
import type { ClientSocket } from "./cluster.js";
import { ask, sleep, until } from "./presence-helpers.js";

const SECRET = "partitions-secret-0123456789abcdef";
const keyspace = createKeyspace();

let redisServer: ServerHandle;
let db: TestDatabase;
let admin: Redis;
let database: Database;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  [redisServer, db] = await Promise.all([startRedis(), createDatabase(testInfra().databaseUrl)]);
  admin = new Redis(redisServer.url);
  database = openDatabase({ url: db.url, max: 2 });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(processes.map((p) => p.kill()));
  admin?.disconnect();
  await database?.close();
  await Promise.allSettled([redisServer?.close(), db?.drop()]);
}, 60_000);

function service(kind: "gateway" | "persister", pod: string, port: number, partitions: number): ServiceProcess {
  const env: Record<string, string> = { REDIS_URL: redisServer.url, DATABASE_URL: db.url, PERSIST_PARTITIONS: String(partitions), LOG_LEVEL: "info" };
  if (kind === "gateway") Object.assign(env, { HOST: "127.0.0.1", JWT_SECRET: SECRET, SHUTDOWN_GRACE_MS: "4000" });
  else Object.assign(env, { PERSIST_CLAIM_IDLE_MS: "2000", SHUTDOWN_GRACE_MS: "8000" });
  const p = new ServiceProcess(kind, pod, port, env);
  processes.push(p);
  return p;
}

/** Stops `old` (SIGTERM: its drain) and starts the same pod on the same port with another count. */
async function restartWith(old: ServiceProcess, partitions: number): Promise<ServiceProcess> {
  expect(await old.terminate()).toBe(0);
  const next = service(old.service as "gateway" | "persister", old.pod, old.port, partitions);
  await next.start();
  return next;
}

function connect(base: string, token: string): Promise<ClientSocket> {
  const socket: ClientSocket = connectClient(base, { auth: { token }, transports: ["websocket"], forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once("session:ready", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

describe("changing PERSIST_PARTITIONS under steady sends", () => {
  it("1 → 4 → 2 across a gateway, the persister and the other gateway: every acked message stored once with its seq, no gap, old partitions drained", async () => {
    const [portA, portB, persisterPort] = await Promise.all([freePort(), freePort(), freePort()]);
    let gwA = service("gateway", "parts-gw-a", portA, 1);
    let gwB = service("gateway", "parts-gw-b", portB, 1);
    let persister = service("persister", "parts-persister", persisterPort, 1);
    await Promise.all([gwA.start(), gwB.start(), persister.start()]);

    // Eight senders (the per-user limit is 20/s), each in a conversation of its own, half
    // through each gateway. Sender i's conversation is in partition i mod 4 of 4 (partners are
    // tried until it is), so with 4 partitions both gateways append beyond partition 0 and 1.
    const senders: { me: string; token: string; side: number; conversationId: string }[] = [];
    for (let i = 0; i < 8; i++) {
      const me = `parts-u${i}`;
      const token = await signToken({ sub: me, name: me, secret: SECRET });
      const base = i % 2 === 0 ? gwA.url : gwB.url;
      for (let attempt = 0; ; attempt++) {
        const created = await fetch(`${base}/v1/conversations`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ kind: "direct", memberIds: [`parts-peer${i}-${attempt}`] }),
        });
        expect(created.status).toBe(201);
        const { conversation } = (await created.json()) as { conversation: { id: string } };
        if (persistPartitionOf(conversation.id, 4) !== i % 4) continue;
        senders.push({ me, token, side: i % 2, conversationId: conversation.id });
        break;
      }
    }

    const acked = new Map<string, { conversationId: string; id: string; seq: number }>();
    let sending = true;
    const loop = async (s: (typeof senders)[number]) => {
      // A client: reconnects when its gateway restarts, retries an unanswered send with the same id.
      let socket: ClientSocket | undefined;
      let retry: string | undefined;
      const deadline = () => Date.now() + 30_000;
      let settleBy = deadline();
      while (sending || retry) {
        if (!sending && Date.now() > settleBy) throw new Error(`${s.me}: send ${retry} not settled within 30 s`);
        if (!socket?.connected) {
          socket?.disconnect();
          socket = await connect(s.side === 0 ? gwA.url : gwB.url, s.token).catch(() => undefined);
          if (!socket) {
            await sleep(200);
            continue;
          }
        }
        const clientMessageId = retry ?? randomUUID();
        const answer = await ask(socket, "message:send", { conversationId: s.conversationId, clientMessageId, body: `b ${clientMessageId}` }, 5_000).catch(() => undefined);
        if (answer?.ok) {
          acked.set(clientMessageId, { conversationId: s.conversationId, id: answer.message.id, seq: answer.message.seq });
          retry = undefined;
          settleBy = deadline();
        } else retry = clientMessageId;
        await sleep(answer && !answer.ok && answer.error.retryAfterMs ? answer.error.retryAfterMs : 100);
      }
      socket?.disconnect();
    };
    const running = senders.map(loop);

    await sleep(1_500);
    const stages: string[] = [];
    const stage = async (name: string, step: () => Promise<void>) => {
      const before = acked.size;
      await step();
      await sleep(1_500);
      stages.push(`${name}: ${acked.size - before} acked`);
    };
    // Gateway A first: its sends go to 4 streams the persister (still on 1) finds and drains.
    await stage("gateway A → 4", async () => {
      gwA = await restartWith(gwA, 4);
    });
    // Gateway A's senders (partitions 0 and 2) reconnect and send again: partition 2's stream appears.
    await until(async () => (await admin.exists(keyspace.persistPartition(2).stream)) > 0, 30_000, "gateway A appends to partition 2");
    await stage("persister → 4", async () => {
      persister = await restartWith(persister, 4);
    });
    await stage("gateway B → 4", async () => {
      gwB = await restartWith(gwB, 4);
    });
    // Down to 2: the persister first this time; partitions 2 and 3 are still written by the gateways until they follow.
    await stage("persister → 2", async () => {
      persister = await restartWith(persister, 2);
    });
    await stage("gateways → 2", async () => {
      gwA = await restartWith(gwA, 2);
      gwB = await restartWith(gwB, 2);
    });
    await sleep(1_500);
    sending = false;
    await Promise.all(running);

    // Every acked message stored once, with its acked id and seq; each conversation 1..n without a gap.
    for (const s of senders) {
      const rows = await database.sql<{ id: string; seq: number; client_message_id: string }[]>`
        select id, seq::int as seq, client_message_id from messages where conversation_id = ${s.conversationId} order by seq`;
      expect(rows.map((r) => r.seq), s.me).toEqual(rows.map((_, i) => i + 1));
      const mine = [...acked.entries()].filter(([, a]) => a.conversationId === s.conversationId);
      expect(rows.length, s.me).toBe(mine.length);
      const byClient = new Map(rows.map((r) => [r.client_message_id, r]));
      for (const [clientMessageId, a] of mine) expect(byClient.get(clientMessageId), clientMessageId).toMatchObject({ id: a.id, seq: a.seq });
    }

    // Partitions 2 and 3 were drained by the persister on 2 (found beyond its count): nothing unread, nothing pending.
    for (const k of [2, 3]) {
      const p = keyspace.persistPartition(k);
      if ((await admin.exists(p.stream)) === 0) continue;
      await until(async () => {
        const groups = (await admin.xinfo("GROUPS", p.stream)) as unknown[][];
        const g = Object.fromEntries(groups[0]!.flatMap((v, i, row) => (i % 2 === 0 ? [[v, row[i + 1]]] : [])));
        return Number(g.pending) === 0 && (g.lag === null || Number(g.lag) === 0);
      }, 15_000, `partition ${k} drained`);
      // Retired by an operator: deleted, and not created again by the persister.
      await admin.del(p.stream);
    }
    await sleep(2_000);
    expect(await admin.exists(keyspace.persistPartition(2).stream, keyspace.persistPartition(3).stream)).toBe(0);
    expect(processes.every((p) => p.unexpectedExits.length === 0)).toBe(true);
    process.stdout.write(`persist partitions 1 → 4 → 2: ${acked.size} messages acked, ${stages.join("; ")}\n`);
  }, 180_000);
});
