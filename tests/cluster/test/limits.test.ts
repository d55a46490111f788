import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conversationRoom, userRoom } from "@parley/bus";
import { openRawSession } from "@parley/testkit";
import { metric, startCluster, type Cluster, type ClientSocket } from "./cluster.js";

// The gateway's limits (docs/client.md, "Limits"), each at the edge a client meets it: per-user
// limits on every event and route, the socket's events in flight, sockets per user and per
// address, the 64 KiB frame, and a client that stops reading.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out");
    await sleep(20);
  }
}

describe("per-user limits with the contract's and the documented defaults", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    // The defaults of services/gateway/src/env.ts, over the test cluster's generous ones.
    cluster = await startCluster({
      gateways: 2,
      gatewayEnv: {
        RATE_LIMIT_PER_SECOND: "20",
        RATE_LIMIT_BURST: "40",
        // A loaded test machine must not turn slow commits into refusals: only the limits refuse here.
        SEND_TIMEOUT_MS: "10000",
        ...Object.fromEntries(
          Object.entries({ READS: [10, 30], SEARCH: [2, 10], TYPING: [5, 20], RECEIPTS: [50, 200], CONVERSATIONS: [2, 20], AUTH: [1, 5] }).flatMap(([c, [rate, burst]]) => [
            [`RATE_LIMIT_${c}_PER_SECOND`, String(rate)],
            [`RATE_LIMIT_${c}_BURST`, String(burst)],
          ]),
        ),
      },
    });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("30 sends at once, 1.6 s apart, three times, over two gateways, sockets and HTTP: every one accepted", async () => {
    const token = await cluster.token("burst-sender");
    const conversation = await cluster.createConversation(token, ["burst-peer"]);
    const [s0, s1] = await Promise.all([cluster.connect(0, token), cluster.connect(1, token)]);
    const path = `/v1/conversations/${conversation.id}/messages`;
    const payload = (i: number) => ({ conversationId: conversation.id, clientMessageId: randomUUID(), body: `round ${i}` });
    for (let round = 0; round < 3; round++) {
      if (round > 0) await sleep(1_600);
      // Mostly HTTP (the way the reservation's accounting broke), the rest over both sockets.
      const answers = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          if (i % 5 < 2) {
            const ack = await (i % 5 ? s1 : s0).emitWithAck("message:send", payload(i));
            return ack.ok ? "ok" : ack.error.code;
          }
          const res = await cluster.http(i % 2, "POST", path, { token, body: payload(i) });
          return res.status === 201 ? "ok" : `${res.status} ${res.body?.error?.code}`;
        }),
      );
      expect({ round, refused: answers.filter((a) => a !== "ok") }).toEqual({ round, refused: [] });
    }
  });

  it("reads, search, typing, receipts, conversation changes and token refreshes are limited per user across gateways", async () => {
    const [token, peerToken] = await Promise.all([cluster.token("reader"), cluster.token("reader-peer")]);
    const conversation = await cluster.createConversation(token, ["reader-peer"]);
    const [s0, s1, peer] = await Promise.all([cluster.connect(0, token), cluster.connect(1, token), cluster.connect(1, peerToken)]);
    const both = (i: number) => (i % 2 ? s1 : s0);

    /** `n` attempts at once over both gateways: how many were refused, each with a RATE_LIMITED answer. */
    const flood = async (n: number, attempt: (i: number) => Promise<{ ok: boolean; error?: { code: string; retryAfterMs?: number } }>) => {
      const started = performance.now();
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => attempt(i)));
      const refused = answers.filter((a) => !a.ok);
      for (const a of refused) {
        expect(a.error?.code).toBe("RATE_LIMITED");
        expect(a.error?.retryAfterMs).toBeGreaterThan(0);
      }
      return { accepted: n - refused.length, refused: refused.length, seconds: (performance.now() - started) / 1000 };
    };
    /** A burst, plus what refilled while the flood was answered. */
    const atMost = (burst: number, perSecond: number, seconds: number) => burst + Math.ceil(perSecond * seconds) + 1;
    // Each burst passes whole (plus what refills meanwhile), the rest is refused.
    const sync = await flood(50, (i) => both(i).emitWithAck("sync", { limit: 1 }));
    expect(sync.accepted).toBeGreaterThanOrEqual(30);
    expect(sync.accepted).toBeLessThanOrEqual(atMost(30, 10, sync.seconds));
    expect(sync.refused).toBeGreaterThan(0);
    // history, presence:query and HTTP reads share the bucket: at most its refill since gets through.
    const [history, presence, httpReads] = await Promise.all([
      flood(10, (i) => both(i).emitWithAck("messages:history", { conversationId: conversation.id })),
      flood(10, (i) => both(i).emitWithAck("presence:query", { userIds: ["reader-peer"] })),
      Promise.all(Array.from({ length: 10 }, (_, i) => cluster.http(i % 2, "GET", `/v1/conversations/${conversation.id}/messages`, { token }))),
    ]);
    expect(history.refused).toBeGreaterThan(0);
    expect(presence.refused).toBeGreaterThan(0);
    expect(httpReads.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    expect(httpReads.every((r) => r.status === 200 || r.status === 429)).toBe(true);

    const typing = await flood(40, (i) => both(i).emitWithAck(i % 4 < 2 ? "typing:start" : "typing:stop", { conversationId: conversation.id }));
    expect(typing.accepted).toBeGreaterThanOrEqual(20);
    expect(typing.accepted).toBeLessThanOrEqual(atMost(20, 5, typing.seconds));
    expect(typing.refused).toBeGreaterThan(0);

    const receipts = await flood(300, (i) => both(i).emitWithAck("message:delivered", { conversationId: conversation.id, seq: 0 }));
    expect(receipts.accepted).toBeGreaterThanOrEqual(200);
    expect(receipts.accepted).toBeLessThanOrEqual(atMost(200, 50, receipts.seconds));
    expect(receipts.refused).toBeGreaterThan(0);

    const refreshes = await flood(20, (i) => both(i).emitWithAck("auth:refresh", { token }));
    expect(refreshes.accepted).toBeGreaterThanOrEqual(5);
    expect(refreshes.accepted).toBeLessThanOrEqual(atMost(5, 1, refreshes.seconds));
    expect(refreshes.refused).toBeGreaterThan(0);

    // HTTP: 429 with Retry-After (whole seconds), the same buckets as the sockets.
    let started = performance.now();
    const searches = await Promise.all(Array.from({ length: 30 }, (_, i) => cluster.http(i % 2, "GET", "/v1/search?q=hello", { token })));
    const searchRefusals = searches.filter((r) => r.status !== 200);
    expect(30 - searchRefusals.length).toBeLessThanOrEqual(atMost(10, 2, (performance.now() - started) / 1000));
    expect(searchRefusals.length).toBeGreaterThan(0);
    for (const r of searchRefusals) {
      expect(r.status).toBe(429);
      expect(r.body.error.code).toBe("RATE_LIMITED");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    started = performance.now();
    const creates = await Promise.all(
      Array.from({ length: 40 }, (_, i) => cluster.http(i % 2, "POST", "/v1/conversations", { token, body: { kind: "group", memberIds: [`member-${i}`] } })),
    );
    // The burst less the conversation this test created first.
    expect(creates.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(19);
    expect(creates.filter((r) => r.status === 201).length).toBeLessThanOrEqual(atMost(20, 2, (performance.now() - started) / 1000));
    expect(creates.some((r) => r.status === 429)).toBe(true);
    expect(creates.filter((r) => r.status !== 201).every((r) => r.status === 429)).toBe(true);

    // Another user is untouched by all of it; the flooder's sends have their own budget.
    expect((await peer.emitWithAck("sync", { limit: 1 })).ok).toBe(true);
    expect((await peer.emitWithAck("typing:start", { conversationId: conversation.id })).ok).toBe(true);
    expect((await s0.emitWithAck("message:send", { conversationId: conversation.id, clientMessageId: randomUUID(), body: "still sends" })).ok).toBe(true);
    expect(await metric(cluster, 0, "parley_gateway_rate_limit_refusals_total", { class: "reads" })).toBeGreaterThan(0);
    expect(await metric(cluster, 1, "parley_gateway_rate_limit_refusals_total", { class: "typing" })).toBeGreaterThan(0);
    expect(await metric(cluster, 0, "parley_gateway_rate_limit_refusals_total", { class: "search" })).toBeGreaterThan(0);
    expect(await metric(cluster, 0, "parley_gateway_rate_limit_refusals_total", { class: "conversations" })).toBeGreaterThan(0);
  });
});

describe("typing throttle", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ gateways: 2, gatewayEnv: { TYPING_THROTTLE_MS: "3000" } });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("survives typing:stop: alternating start and stop forwards two starts and two stops per throttle window", async () => {
    const [typist, watcher] = await Promise.all([cluster.token("typist"), cluster.token("watcher")]);
    const conversation = await cluster.createConversation(typist, ["watcher"]);
    const [t, w] = await Promise.all([cluster.connect(0, typist), cluster.connect(1, watcher)]);
    const heard: boolean[] = [];
    w.on("typing", (e) => heard.push(e.isTyping));
    for (let i = 0; i < 10; i++) {
      expect(await t.emitWithAck("typing:start", { conversationId: conversation.id })).toEqual({ ok: true });
      expect(await t.emitWithAck("typing:stop", { conversationId: conversation.id })).toEqual({ ok: true });
    }
    await until(() => heard.length >= 4);
    await sleep(300);
    expect(heard).toEqual([true, false, true, false]);
  });
});

describe("socket limits", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({
      gateways: 2,
      gatewayEnv: { SOCKET_EVENTS_IN_FLIGHT_MAX: "4", SOCKETS_PER_USER_MAX: "2", SOCKETS_PER_IP_MAX: "4", TRUSTED_PROXIES: "loopback", SOCKET_SEND_BUFFER_MAX_BYTES: String(512 * 1024) },
    });
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error("connected");
      },
      (err: Error & { data?: { code?: string; message?: string } }) => ({ message: err.message, code: err.data?.code, detail: err.data?.message }),
    );

  it("answers events over the socket's cap RATE_LIMITED without handling them", async () => {
    const token = await cluster.token("eager");
    const conversation = await cluster.createConversation(token, ["eager-peer"]);
    const socket = await cluster.connect(0, token);
    const answers = await Promise.all(Array.from({ length: 12 }, () => socket.emitWithAck("messages:history", { conversationId: conversation.id })));
    const refused = answers.filter((a) => !a.ok);
    expect(answers.filter((a) => a.ok).length).toBeGreaterThanOrEqual(4);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const a of refused) expect(a).toEqual({ ok: false, error: { code: "RATE_LIMITED", message: expect.stringMatching(/at once/), retryAfterMs: 100 } });
    expect(await metric(cluster, 0, "parley_gateway_events_in_flight_refusals_total")).toBe(refused.length);
    // Answered ones free their places.
    expect((await socket.emitWithAck("sync", { limit: 1 })).ok).toBe(true);
    socket.disconnect();
  });

  it("refuses a user's socket over SOCKETS_PER_USER_MAX across gateways with TOO_MANY_SOCKETS, and takes it once one left", async () => {
    const token = await cluster.token("many-devices");
    const first = await cluster.connect(0, token);
    const second = await cluster.connect(0, token);
    // Same pod: refused from the pod's own count.
    expect(await refusal(cluster.connect(0, token))).toEqual({ message: "too many sockets", code: "TOO_MANY_SOCKETS", detail: expect.stringMatching(/per user/) });
    // Other pod: refused from the cluster's count (presence, in Redis), once it is registered there.
    await until(async () => Number(await cluster.nodes[1]!.redis[0]!.hget(cluster.keyspace.presence.counts, "many-devices")) === 2);
    expect(await refusal(cluster.connect(1, token))).toMatchObject({ code: "TOO_MANY_SOCKETS" });
    expect(await metric(cluster, 0, "parley_gateway_socket_cap_refusals_total", { cap: "user" })).toBe(1);
    expect(await metric(cluster, 1, "parley_gateway_socket_cap_refusals_total", { cap: "user" })).toBe(1);
    first.disconnect();
    await until(async () => Number(await cluster.nodes[1]!.redis[0]!.hget(cluster.keyspace.presence.counts, "many-devices")) === 1);
    const third = await cluster.connect(1, token);
    expect(third.connected).toBe(true);
    second.disconnect();
    third.disconnect();
  });

  it("refuses sockets from one address over SOCKETS_PER_IP_MAX on a pod", async () => {
    await until(() => cluster.nodes[1]!.gateway.io.of("/").sockets.size === 0);
    const tokens = await Promise.all(Array.from({ length: 5 }, (_, i) => cluster.token(`neighbour-${i}`)));
    const open: ClientSocket[] = [];
    for (const token of tokens.slice(0, 4)) open.push(await cluster.connect(1, token));
    expect(await refusal(cluster.connect(1, tokens[4]!))).toEqual({ message: "too many sockets", code: "TOO_MANY_SOCKETS", detail: expect.stringMatching(/address/) });
    expect(await metric(cluster, 1, "parley_gateway_socket_cap_refusals_total", { cap: "ip" })).toBe(1);
    // The cap is per pod: the other one takes it.
    open.push(await cluster.connect(0, tokens[4]!));
    open[0]!.disconnect();
    await until(async () => (await metric(cluster, 1, "parley_gateway_socket_addresses")) === 1 && cluster.nodes[1]!.gateway.io.of("/").sockets.size === 3);
    open.push(await cluster.connect(1, tokens[0]!));
    for (const s of open) s.disconnect();
  });

  it("counts sockets through a trusted proxy by the client address it forwards (TRUSTED_PROXIES)", async () => {
    await until(() => cluster.nodes[1]!.gateway.io.of("/").sockets.size === 0);
    const tokens = await Promise.all(Array.from({ length: 6 }, (_, i) => cluster.token(`behind-proxy-${i}`)));
    const via = (address: string) => ({ extraHeaders: { "x-forwarded-for": address } });
    const open: ClientSocket[] = [];
    // The test's connections come from loopback, trusted here: each forwarded address has its own cap of 4.
    for (const token of tokens.slice(0, 4)) open.push(await cluster.connect(1, token, via("203.0.113.7")));
    expect(await refusal(cluster.connect(1, tokens[4]!, via("203.0.113.7")))).toMatchObject({ code: "TOO_MANY_SOCKETS", detail: expect.stringMatching(/address/) });
    open.push(await cluster.connect(1, tokens[5]!, via("198.51.100.9")));
    expect(await metric(cluster, 1, "parley_gateway_socket_addresses")).toBe(2);
    for (const s of open) s.disconnect();
  });

  it("closes a connection whose frame passes 64 KiB before reading it, while smaller frames are answered", async () => {
    const token = await cluster.token("big-frames");
    const fine = await openRawSession(cluster.url(0), token);
    fine.send(`421${JSON.stringify(["sync", { limit: 1, pad: "x".repeat(60 * 1024) }])}`);
    expect(await fine.next((t) => t.startsWith("431"))).toMatch(/"ok":true/);
    fine.destroy();

    // Only the header of a 10 MB frame: the server closes with 1009 (message too big) without
    // waiting for, reading or parsing a byte of it.
    const big = await openRawSession(cluster.url(0), token);
    big.announce(10 * 1024 * 1024);
    expect(await big.closed).toBe(1009);
    // Just over the limit, sent whole: the same.
    const over = await openRawSession(cluster.url(0), token);
    over.send(`422${JSON.stringify(["sync", { limit: 1, pad: "x".repeat(65 * 1024) }])}`);
    expect(await over.closed).toBe(1009);
    expect(over.messages.some((t) => t.startsWith("432"))).toBe(false);
    await until(async () => (await metric(cluster, 0, "parley_gateway_oversized_frame_disconnects_total")) === 2);
  });

  it("drops a socket whose client stops reading once its send buffer passes SOCKET_SEND_BUFFER_MAX_BYTES, holding no more than that", async () => {
    const token = await cluster.token("never-reads");
    const reader = await openRawSession(cluster.url(0), token);
    const io = cluster.nodes[0]!.gateway.io;
    await until(() => [...io.of("/").sockets.values()].some((s) => s.data.userId === "never-reads"));
    const socket = [...io.of("/").sockets.values()].find((s) => s.data.userId === "never-reads")!;
    const conn = socket.conn as unknown as { writeBuffer: { data?: unknown }[]; transport: { socket?: { bufferedAmount?: number } } };
    const held = () =>
      conn.writeBuffer.reduce((n, p) => n + (typeof p.data === "string" ? p.data.length : 0), 0) + (conn.transport.socket?.bufferedAmount ?? 0);
    let disconnected = false;
    socket.once("disconnect", () => (disconnected = true));
    reader.stopReading();

    // 64 KB events to the user's room, as fan-out sends them, until the gateway lets go (the
    // kernel's buffers take some megabytes first), at most 64 MB.
    const chunk = { conversationId: randomUUID(), userId: "someone", userName: "x".repeat(64 * 1024), isTyping: true };
    // Measured up to the event that made the gateway let go (its counter moved): between that
    // cut (the WebSocket terminated at once) and engine.io's close event, a busy machine can
    // queue a few more emits, which the close then discards; they are not what the bound is about.
    const cuts = () => metric(cluster, 0, "parley_gateway_slow_consumer_disconnects_total");
    let maxHeld = 0;
    let cutSeen = false;
    for (let i = 0; i < 1_000 && !disconnected; i++) {
      io.to(userRoom("never-reads")).emit("typing", chunk);
      if (!cutSeen) maxHeld = Math.max(maxHeld, held());
      cutSeen ||= (await cuts()) > 0;
      await new Promise((r) => setImmediate(r));
    }
    expect(cutSeen).toBe(true);
    expect(disconnected).toBe(true);
    // The bound, plus the one event that passed it.
    expect(maxHeld).toBeLessThanOrEqual(512 * 1024 + 70 * 1024);
    expect(await metric(cluster, 0, "parley_gateway_slow_consumer_disconnects_total")).toBe(1);
    reader.destroy();
    // A reading client with the same traffic stays.
    const fine = await cluster.connect(0, await cluster.token("reads-fine"));
    let heard = 0;
    fine.on("typing", () => heard++);
    for (let i = 0; i < 50; i++) {
      io.to(conversationRoom("none")).to(userRoom("reads-fine")).emit("typing", chunk);
      await sleep(2);
    }
    await until(() => heard === 50);
    expect(fine.connected).toBe(true);
    fine.disconnect();
  });
});
