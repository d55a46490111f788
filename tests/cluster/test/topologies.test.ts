// The cluster on the two Redis topologies past one server (protocol.md, "Redis topologies"):
// a Redis Cluster of 3 masters + 3 replicas and a Sentinel set (1 master, 1 replica, 3
// Sentinels), both from the test kit. Every other file of this suite runs on one Redis server;
// this file runs the services as real processes, configured only by REDIS_CLUSTER_NODES or
// REDIS_SENTINELS + REDIS_SENTINEL_NAME, through every service path once (README, "Tests",
// says why this subset), then kills the busiest Redis master under steady sends.
import { once } from "node:events";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { io as connectClient } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "@parley/protocol";
import { assertNoEviction, CommonEnv, commonConfig, createRedis, parseEnv, pipelineAcrossSlots, waitForReady } from "@parley/runtime";
import {
  createDatabase,
  freePort,
  signToken,
  spawnService,
  startRedisCluster,
  startRedisSentinel,
  type RedisTopologyHandle,
  type ServiceName,
  type SpawnedService,
  type TestDatabase,
} from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";
import type { ClientSocket } from "./cluster.js";
import { ask, listen, sleep, until } from "./presence-helpers.js";
import { startWebhookReceiver } from "./webhook-receiver.js";

const SECRET = "topologies-secret-0123456789abcdef";
const HOOK_SECRET = "topologies-hook-secret-0123456789";
const START = { cluster: startRedisCluster, sentinel: startRedisSentinel } as const;

interface Running {
  topology: RedisTopologyHandle;
  db: TestDatabase;
  hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  services: SpawnedService[];
  gateways: [string, string];
}

async function startAll(kind: keyof typeof START): Promise<Running> {
  const [topology, db, hook] = await Promise.all([START[kind](), createDatabase(testInfra().databaseUrl), startWebhookReceiver()]);
  const services: SpawnedService[] = [];
  const run = (service: ServiceName, env: Record<string, string>) => {
    const spawned = spawnService(service, { DATABASE_URL: db.url, ...topology.env, ...env }, { echoStderr: true });
    services.push(spawned);
  };
  const [portA, portB, persisterPort, deliveryPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const gateway = { HOST: "127.0.0.1", JWT_SECRET: SECRET };
  run("gateway", { ...gateway, PORT: String(portA), POD_NAME: `${kind}-gw-a` });
  run("gateway", { ...gateway, PORT: String(portB), POD_NAME: `${kind}-gw-b` });
  run("persister", { METRICS_PORT: String(persisterPort), POD_NAME: `${kind}-persister` });
  run("delivery", {
    METRICS_PORT: String(deliveryPort),
    POD_NAME: `${kind}-delivery`,
    PUSH_WEBHOOK_URL: hook.url,
    PUSH_WEBHOOK_SECRET: HOOK_SECRET,
    PUSH_COLLAPSE_MS: "0",
    PRESENCE_OFFLINE_GRACE_MS: "0",
    PRESENCE_FLUSH_MS: "200",
  });
  const gateways: [string, string] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  const probes = [...gateways, `http://127.0.0.1:${persisterPort}`, `http://127.0.0.1:${deliveryPort}`];
  await until(async () => (await Promise.all(probes.map(async (p) => (await fetch(`${p}/readyz`).catch(() => undefined))?.status === 200))).every(Boolean), 60_000, "every service ready");
  return { topology, db, hook, services, gateways };
}

async function stopAll(running: Running | undefined): Promise<void> {
  if (!running) return;
  for (const { child } of running.services) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await Promise.all(running.services.map(({ child }) => (child.exitCode === null && child.signalCode === null ? once(child, "exit") : undefined)));
  await Promise.allSettled([running.topology.close(), running.db.drop(), running.hook.close()]);
}

function connect(base: string, token: string): Promise<ClientSocket> {
  const socket: ClientSocket = connectClient(base, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once("session:ready", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

async function http(base: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test helper: callers assert the shape
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

/** Every message of a conversation, from Postgres through the history route, ascending. */
async function stored(base: string, token: string, conversationId: string): Promise<Message[]> {
  const all: Message[] = [];
  for (let after = 0; ; ) {
    const page = await http(base, token, "GET", `/v1/conversations/${conversationId}/messages?afterSeq=${after}&limit=100`);
    expect(page.status).toBe(200);
    all.push(...(page.body.messages as Message[]));
    if (!page.body.hasMore || page.body.messages.length === 0) return all;
    after = all.at(-1)!.seq;
  }
}

/** Commands each master processed over `ms` while traffic runs: the busiest is the one a failover hurts most. */
async function busiestMaster(topology: RedisTopologyHandle, ms: number): Promise<{ port: number; commands: Record<number, number> }> {
  const masters = await topology.masterPorts();
  const processed = async (port: number) => {
    const admin = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 });
    admin.on("error", () => {});
    try {
      await admin.connect();
      return Number(/total_commands_processed:(\d+)/.exec(await admin.info("stats"))![1]);
    } finally {
      admin.disconnect();
    }
  };
  const before = await Promise.all(masters.map(processed));
  await sleep(ms);
  const after = await Promise.all(masters.map(processed));
  const commands = Object.fromEntries(masters.map((port, i) => [port, after[i]! - before[i]!]));
  const port = masters.reduce((best, p) => (commands[p]! > commands[best]! ? p : best), masters[0]!);
  return { port, commands };
}

describe.each(["cluster", "sentinel"] as const)("on a Redis %s", (kind) => {
  let running: Running | undefined;
  beforeAll(async () => {
    running = await startAll(kind);
  }, 120_000);
  afterAll(() => stopAll(running), 60_000);

  it("every service path: send/ack, fan-out across gateways, presence, receipts, BullMQ push, membership invalidation", async () => {
    const { gateways, hook } = running!;
    const [a, b] = gateways;
    const [alice, bob, carol, dave] = await Promise.all(["alice", "bob", "carol", "dave"].map((sub) => signToken({ sub, name: sub, secret: SECRET })));
    const created = await http(a, alice!, "POST", "/v1/conversations", { kind: "group", memberIds: ["bob", "dave"], title: kind });
    expect(created.status).toBe(201);
    const conversationId: string = created.body.conversation.id;

    // Presence: bob (on B) hears alice come online on A.
    const bobSocket = await connect(b, bob!);
    const bobHears = listen(bobSocket);
    const bobMessages: Message[] = [];
    bobSocket.on("message:new", (m) => bobMessages.push(m));
    const aliceSocket = await connect(a, alice!);
    const receipts: unknown[] = [];
    aliceSocket.on("receipt", (r) => receipts.push(r));
    await until(() => bobHears.presenceOf("alice").some((p) => p.status === "online"), 10_000, "bob hears alice online");

    // Send/ack on A, fan-out to B (sharded pub/sub), push to dave who is offline (BullMQ notify → push).
    const sent = await ask(aliceSocket, "message:send", { conversationId, clientMessageId: randomUUID(), body: "hello across shards" }, 10_000);
    expect(sent).toMatchObject({ ok: true, duplicate: false, message: { seq: 1 } });
    await until(() => bobMessages.some((m) => m.body === "hello across shards"), 10_000, "bob (gateway B) gets the message");
    await until(() => hook.for("dave").length > 0, 15_000, "dave's push reaches the webhook");

    // Receipts: bob's delivered watermark reaches alice (BullMQ receipts → delivery → sharded publish).
    expect(await ask(bobSocket, "message:delivered", { conversationId, seq: 1 })).toEqual({ ok: true });
    await until(() => receipts.length > 0, 10_000, "alice hears bob's receipt");
    expect(receipts[0]).toMatchObject({ conversationId, userId: "bob", kind: "delivered", seq: 1 });

    // Membership invalidation: carol is refused on A, added (by alice) through B, and A lets her send at once.
    const carolSocket = await connect(a, carol!);
    const refused = await ask(carolSocket, "message:send", { conversationId, clientMessageId: randomUUID(), body: "let me in" }, 10_000);
    expect(refused).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    expect((await http(b, alice!, "POST", `/v1/conversations/${conversationId}/members`, { userIds: ["carol"] })).status).toBe(200);
    await until(
      async () => (await ask(carolSocket, "message:send", { conversationId, clientMessageId: randomUUID(), body: "in" }, 10_000)).ok,
      10_000,
      "carol's send accepted on A after the change on B",
    );
    void dave;
    for (const s of [aliceSocket, bobSocket, carolSocket]) s.disconnect();
  }, 90_000);

  // The persist partitions' tags spread over the slot ring (libs/bus keyspace.ts), so with the
  // cluster's default of 8 partitions the persist path runs on every master.
  if (kind === "cluster")
    it("spreads the persist path over every master: XREADGROUP and XACK per master (INFO commandstats) while 128 conversations send, none above half", async () => {
      const { gateways, topology } = running!;
      // 16 users in 8 conversations each, so the 128 conversations' hashes even out over the 8
      // partitions. One creation after another: many at once can meet the gateway's bounded
      // database queue (503).
      const users: { socket: ClientSocket; conversationIds: string[] }[] = [];
      for (let i = 0; i < 16; i++) {
        const token = await signToken({ sub: `spread-${i}`, name: `spread ${i}`, secret: SECRET });
        const base = gateways[i % 2]!;
        const conversationIds: string[] = [];
        for (let c = 0; c < 8; c++) {
          const created = await http(base, token, "POST", "/v1/conversations", { kind: "direct", memberIds: [`spread-peer-${i}-${c}`] });
          expect(created.status).toBe(201);
          conversationIds.push(created.body.conversation.id as string);
        }
        users.push({ socket: await connect(base, token), conversationIds });
      }
      const masters = await topology.masterPorts();
      const persistCalls = async (port: number) => {
        const admin = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 });
        admin.on("error", () => {});
        try {
          await admin.connect();
          const stats = await admin.info("commandstats");
          const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
          return calls("xreadgroup") + calls("xack");
        } finally {
          admin.disconnect();
        }
      };
      const before = await Promise.all(masters.map(persistCalls));
      const started = Date.now();
      let acked = 0;
      const refused: string[] = [];
      // Each user sends 10 a second (half the per-user limit) for 4 s, round the conversations.
      await Promise.all(
        users.map(async ({ socket, conversationIds }) => {
          for (let i = 0; i < 40; i++) {
            const answer = await ask(socket, "message:send", { conversationId: conversationIds[i % 8]!, clientMessageId: randomUUID(), body: `spread ${i}` }, 10_000);
            if (answer.ok) acked++;
            else refused.push(`${answer.error.code}: ${answer.error.message} (retryAfterMs ${answer.error.retryAfterMs})`);
            await sleep(100);
          }
        }),
      );
      const after = await Promise.all(masters.map(persistCalls));
      const seconds = (Date.now() - started) / 1000;
      const perMaster = masters.map((_, i) => after[i]! - before[i]!);
      const total = perMaster.reduce((a, b) => a + b, 0);
      process.stdout.write(
        `persist commands (XREADGROUP + XACK) per master over ${seconds.toFixed(1)} s, ${acked} sends: ${masters.map((p, i) => `:${p} ${Math.round(perMaster[i]! / seconds)}/s`).join(", ")}\n`,
      );
      expect(refused, "every send acked").toEqual([]);
      expect(acked).toBe(16 * 40);
      for (const [i, n] of perMaster.entries()) {
        expect(n, `master :${masters[i]}`).toBeGreaterThan(0);
        expect(n / total, `master :${masters[i]}'s share of ${total}`).toBeLessThanOrEqual(0.5);
      }
      for (const { socket } of users) socket.disconnect();
    }, 60_000);

  it("a connection of the topology: noeviction checked on every master, pipelines across slots answered in order", async () => {
    const { topology } = running!;
    const redis = createRedis({ topology: commonConfig(parseEnv(CommonEnv, topology.env), "check").redis, name: "topology-check", role: "producer" });
    try {
      await waitForReady(redis);
      await expect(assertNoEviction(redis)).resolves.toBeUndefined();
      // One master that may evict: the start is refused, naming it on a cluster.
      const [last] = (await topology.masterPorts()).slice(-1);
      const admin = new Redis({ host: "127.0.0.1", port: last! });
      try {
        await admin.config("SET", "maxmemory-policy", "allkeys-lru");
        await expect(assertNoEviction(redis)).rejects.toThrow(kind === "cluster" ? `"allkeys-lru" on 127.0.0.1:${last}` : /"allkeys-lru"; Parley needs "noeviction"/);
      } finally {
        await admin.config("SET", "maxmemory-policy", "noeviction");
        admin.disconnect();
      }
      // Keys in three different slots, one command failing: each answer in its place.
      const keys = ["topology:a", "topology:b", "topology:c"];
      const pipeline = pipelineAcrossSlots(redis);
      for (const [i, key] of keys.entries()) pipeline.set(key, String(i));
      pipeline.incr("topology:a");
      pipeline.get("topology:c");
      expect(await pipeline.exec()).toEqual([[null, "OK"], [null, "OK"], [null, "OK"], [null, 1], [null, "2"]]);
      const failing = pipelineAcrossSlots(redis).set("topology:d", "x").hincrby("topology:a", "f", 1).get("topology:d");
      const answers = (await failing.exec())!;
      expect(answers[0]).toEqual([null, "OK"]);
      expect(String(answers[1]![0])).toMatch(/WRONGTYPE/);
      expect(answers[2]).toEqual([null, "x"]);
    } finally {
      redis.disconnect();
    }
  }, 30_000);

  it("the busiest master SIGKILLed under steady sends through both gateways: nothing acked lost or doubled, no seq gap, acks and cross-gateway delivery back within 15 s, no service restarted", async () => {
    const { gateways, topology, services } = running!;
    const [a, b] = gateways;
    const [alice, bob] = await Promise.all(["failover-a", "failover-b"].map((sub) => signToken({ sub, name: sub, secret: SECRET })));
    const created = await http(a, alice!, "POST", "/v1/conversations", { kind: "direct", memberIds: ["failover-b"] });
    expect(created.status).toBe(201);
    const conversationId: string = created.body.conversation.id;
    const sockets = [await connect(a, alice!), await connect(b, bob!)] as const;
    const pids = services.map(({ child }) => child.pid);

    // Each side sends every 100 ms (half the per-user rate limit) and retries a send that was
    // not acked with the same clientMessageId, as a client does.
    const acked = new Map<string, { id: string; seq: number; at: number; sender: number }>();
    const received: { clientMessageId: string; at: number; by: number }[] = [];
    const resyncs: number[] = [];
    sockets.forEach((s, by) => {
      s.on("message:new", (m) => received.push({ clientMessageId: m.clientMessageId, at: Date.now(), by }));
      s.on("session:resync", () => resyncs.push(Date.now()));
    });
    const unsettled = new Set<string>();
    let sending = true;
    const sender = async (side: 0 | 1) => {
      const pending: string[] = [];
      while (sending) {
        const clientMessageId = pending.shift() ?? randomUUID();
        unsettled.add(clientMessageId);
        const answer = await ask(sockets[side], "message:send", { conversationId, clientMessageId, body: `m ${clientMessageId}` }, 5_000).catch(() => undefined);
        if (answer?.ok) {
          acked.set(clientMessageId, { id: answer.message.id, seq: answer.message.seq, at: Date.now(), sender: side });
          unsettled.delete(clientMessageId);
        } else pending.push(clientMessageId);
        await sleep(100);
      }
      // Settle what is left: the same clientMessageId until it is answered, paced as a client
      // retries (honouring retryAfterMs), not faster than the per-user rate limit refills.
      for (const clientMessageId of pending) {
        const deadline = Date.now() + 30_000;
        let last: unknown;
        for (;;) {
          const answer = await ask(sockets[side], "message:send", { conversationId, clientMessageId, body: `m ${clientMessageId}` }, 5_000).catch((err: Error) => err.message);
          last = answer;
          if (typeof answer === "object" && answer.ok) {
            acked.set(clientMessageId, { id: answer.message.id, seq: answer.message.seq, at: Date.now(), sender: side });
            break;
          }
          if (Date.now() > deadline) throw new Error(`send ${clientMessageId} not settled within 30 s; last answer ${JSON.stringify(last)}`);
          const retryAfterMs = typeof answer === "object" && !answer.ok ? (answer.error.retryAfterMs ?? 0) : 0;
          await sleep(Math.max(200, retryAfterMs));
        }
        unsettled.delete(clientMessageId);
      }
    };
    const senders = [sender(0), sender(1)];
    await sleep(2_000);
    const { port: victim, commands } = await busiestMaster(topology, 1_000);
    const killedAt = Date.now();
    const mastersBefore = await topology.masterPorts();
    await topology.kill(victim);
    // When Redis itself had a master again for the victim's slots (the timeline's first half).
    let promotedMs: number | undefined;
    const promoted = until(async () => (await topology.masterPorts()).length === mastersBefore.length, 15_000, "a replica promoted").then(() => (promotedMs = Date.now() - killedAt));

    // Sends are acked again, and delivered across gateways, within 15 s of the kill.
    await until(() => [0, 1].every((side) => [...acked.values()].some((x) => x.sender === side && x.at > killedAt)), 15_000, "both sides acked after the kill");
    const ackedAfter = (side: number) => new Set([...acked.entries()].filter(([, x]) => x.sender === side && x.at > killedAt).map(([id]) => id));
    await until(
      () => received.some((r) => r.by === 1 && r.at > killedAt && ackedAfter(0).has(r.clientMessageId)) && received.some((r) => r.by === 0 && r.at > killedAt && ackedAfter(1).has(r.clientMessageId)),
      15_000 - (Date.now() - killedAt),
      "deliveries across gateways after the kill",
    );
    const recoveredMs = Date.now() - killedAt;
    await promoted;
    await sleep(1_000);
    sending = false;
    await Promise.all(senders);
    expect(unsettled.size).toBe(0);

    // Every acked message stored once, with its acked seq and id; seqs 1..n with no gap.
    const rows = await stored(a, alice!, conversationId);
    const byClientId = new Map<string, Message[]>();
    for (const row of rows) byClientId.set(row.clientMessageId, [...(byClientId.get(row.clientMessageId) ?? []), row]);
    for (const [clientMessageId, ack] of acked) {
      expect(byClientId.get(clientMessageId), clientMessageId).toHaveLength(1);
      expect(byClientId.get(clientMessageId)![0]).toMatchObject({ id: ack.id, seq: ack.seq });
    }
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(rows.length).toBe(acked.size);

    // Resync: the gateways' adapter subscribers lost a master and came back, so their sockets were told to sync.
    expect(resyncs.length).toBeGreaterThan(0);

    // No service restarted: the same processes, all still running.
    expect(services.map(({ child }) => child.pid)).toEqual(pids);
    expect(services.every(({ child }) => child.exitCode === null && child.signalCode === null)).toBe(true);
    process.stdout.write(
      `${kind}: killed master :${victim} (commands/s per master ${JSON.stringify(commands)}); replica promoted after ${promotedMs} ms; acked and delivered across gateways again after ${recoveredMs} ms; ${acked.size} messages, ${resyncs.length} session:resync\n`,
    );
    for (const s of sockets) s.disconnect();
  }, 120_000);
});
