import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClientAck, ErrorBody, Message } from "@parley/protocol";
import type { HttpResult } from "./http-api.js";
import { Outbox, type SendTransport } from "./outbox.js";
import { memoryStorage, type OutboxRecord, type OutboxStorage } from "./outbox-storage.js";
import type { OutgoingMessage } from "./types.js";

const A = randomUUID();
const B = randomUUID();

/** The server side of the outbox, scripted: each send is answered by the next queued answer (or stored). */
function fakeServer() {
  const attempts: { via: "socket" | "http"; record: OutboxRecord; at: number }[] = [];
  const stored = new Map<string, Message>();
  const script: (ErrorBody | "hang")[] = [];
  let seq = 0;
  let online = true;
  let offlineSince: number | undefined;
  const answer = (record: OutboxRecord): { ok: true; message: Message; duplicate: boolean } | { ok: false; error: ErrorBody } | "hang" => {
    const next = script.shift();
    if (next === "hang") return "hang";
    if (next) return { ok: false, error: next };
    const existing = stored.get(record.clientMessageId);
    if (existing) return { ok: true, message: existing, duplicate: true };
    const message: Message = {
      id: randomUUID(),
      conversationId: record.conversationId,
      seq: ++seq,
      senderId: record.userId,
      senderName: "Alice (server)",
      clientMessageId: record.clientMessageId,
      kind: record.kind,
      body: record.body,
      createdAt: new Date().toISOString(),
    };
    stored.set(record.clientMessageId, message);
    return { ok: true, message, duplicate: false };
  };
  const transport: SendTransport = {
    socket(record) {
      if (!online) return undefined;
      attempts.push({ via: "socket", record: { ...record }, at: Date.now() });
      const a = answer(record);
      if (a === "hang") return new Promise<ClientAck<"message:send">>(() => {});
      return Promise.resolve(a);
    },
    async http(record) {
      attempts.push({ via: "http", record: { ...record }, at: Date.now() });
      const a = answer(record);
      if (a === "hang") return new Promise<HttpResult<{ message: Message; duplicate: boolean }>>(() => {});
      return a.ok ? { ok: true, status: 201, data: { message: a.message, duplicate: a.duplicate } } : { ok: false, status: 503, error: a.error };
    },
    offlineSince: () => offlineSince,
  };
  return {
    transport,
    attempts,
    stored,
    script,
    goOffline() {
      online = false;
      offlineSince = Date.now();
    },
    goOnline() {
      online = true;
      offlineSince = undefined;
    },
  };
}

function makeOutbox(server: ReturnType<typeof fakeServer>, storage: OutboxStorage = memoryStorage(), httpFallbackAfterMs = 0) {
  const changes: OutgoingMessage[] = [];
  const storedSeen: Message[] = [];
  let n = 0;
  const outbox = new Outbox({
    storage,
    transport: server.transport,
    now: () => Date.now(),
    uuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
    logger: {},
    retry: { baseMs: 1_000, maxMs: 8_000 },
    httpFallbackAfterMs,
    random: () => 0.5,
    onStored: (m) => storedSeen.push(m),
    onChange: (o) => changes.push({ ...o }),
  });
  return { outbox, changes, storedSeen };
}

describe("Outbox", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_800_000_000_000);
  });
  afterEach(() => vi.useRealTimers());

  it("returns the optimistic message at once and settles it when acked; storage is written before the send", async () => {
    const server = fakeServer();
    const writes: string[] = [];
    const base = memoryStorage();
    const storage: OutboxStorage = {
      ...base,
      put: async (r) => {
        writes.push(`put ${r.body} attempts=${server.attempts.length}`);
        await base.put(r);
      },
    };
    const { outbox, storedSeen } = makeOutbox(server, storage);
    await outbox.start("alice", "Alice");
    const out = outbox.enqueue(A, { body: "hi" });
    expect(out).toMatchObject({ status: "pending", senderId: "alice", senderName: "Alice", body: "hi", conversationId: A });
    const settled = await out.settled;
    expect(settled.status).toBe("sent");
    expect(settled.message?.seq).toBe(1);
    expect(settled.senderName).toBe("Alice (server)");
    expect(writes).toEqual(["put hi attempts=0"]);
    expect(storedSeen.map((m) => m.body)).toEqual(["hi"]);
    expect(await storage.load()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("sends one conversation's messages one at a time, in order; other conversations in parallel", async () => {
    const server = fakeServer();
    const { outbox } = makeOutbox(server);
    await outbox.start("alice", "Alice");
    server.script.push({ code: "UNAVAILABLE", message: "redis away" });
    const a1 = outbox.enqueue(A, { body: "a1" });
    const a2 = outbox.enqueue(A, { body: "a2" });
    const b1 = outbox.enqueue(B, { body: "b1" });
    await vi.advanceTimersByTimeAsync(0);
    // a1 was refused (transient) and waits; a2 waits behind it; b1 went out.
    expect(server.attempts.map((a) => a.record.body)).toEqual(["a1", "b1"]);
    expect((await b1.settled).status).toBe("sent");
    await vi.advanceTimersByTimeAsync(500); // backoff: random 0.5 · 1000 ms
    await Promise.all([a1.settled, a2.settled]);
    expect(server.attempts.map((a) => a.record.body)).toEqual(["a1", "b1", "a1", "a2"]);
    expect([...server.stored.values()].filter((m) => m.conversationId === A).map((m) => m.body)).toEqual(["a1", "a2"]);
  });

  it("retries a transient refusal with the same clientMessageId, full-jitter backoff, never before retryAfterMs", async () => {
    const server = fakeServer();
    const { outbox } = makeOutbox(server);
    await outbox.start("alice", "Alice");
    server.script.push(
      { code: "UNAVAILABLE", message: "x" },
      { code: "INTERNAL", message: "x" },
      { code: "RATE_LIMITED", message: "slow down", retryAfterMs: 5_000 },
    );
    const out = outbox.enqueue(A, { body: "hello" });
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(500); // attempt 0: 0.5 · 1000
    await vi.advanceTimersByTimeAsync(1_000); // attempt 1: 0.5 · 2000
    expect(server.attempts).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(4_999); // jitter would say 2000, retryAfterMs says 5000
    expect(server.attempts).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect((await out.settled).status).toBe("sent");
    const times = server.attempts.map((a) => a.at - server.attempts[0]!.at);
    expect(times).toEqual([0, 500, 1_500, 6_500]);
    expect(new Set(server.attempts.map((a) => a.record.clientMessageId)).size).toBe(1);
  });

  it("backs off for retryAfterMs on an UNAVAILABLE refused before queuing (admission control), even across a wake(), and retries with the same clientMessageId", async () => {
    const server = fakeServer();
    const { outbox } = makeOutbox(server);
    await outbox.start("alice", "Alice");
    // The gateway's admission control: nothing was stored, come back in 3 s.
    server.script.push({ code: "UNAVAILABLE", message: "the cluster is saving messages more slowly than they arrive; retry later", retryAfterMs: 3_000 });
    const out = outbox.enqueue(A, { body: "hello" });
    await vi.advanceTimersByTimeAsync(0);
    expect(server.attempts).toHaveLength(1);
    outbox.wake(); // a reconnect skips the jitter, never retryAfterMs
    await vi.advanceTimersByTimeAsync(2_999); // jitter alone would have retried at 500 ms
    expect(server.attempts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await out.settled).status).toBe("sent");
    expect(server.attempts.map((a) => a.at - server.attempts[0]!.at)).toEqual([0, 3_000]);
    expect(new Set(server.attempts.map((a) => a.record.clientMessageId)).size).toBe(1);
    expect(server.stored.size).toBe(1);
  });

  it.each(["VALIDATION", "FORBIDDEN", "CONFLICT"] as const)("a %s refusal ends as failed with the reason; the next message still goes", async (code) => {
    const server = fakeServer();
    const storage = memoryStorage();
    const { outbox } = makeOutbox(server, storage);
    await outbox.start("alice", "Alice");
    server.script.push({ code, message: "no" });
    const bad = outbox.enqueue(A, { body: "bad" });
    const good = outbox.enqueue(A, { body: "good" });
    expect(await bad.settled).toMatchObject({ status: "failed", error: { code, message: "no" } });
    expect((await good.settled).status).toBe("sent");
    expect(server.attempts).toHaveLength(2); // never retried
    expect(outbox.list().map((o) => [o.body, o.status])).toEqual([["bad", "failed"]]);
    expect((await storage.load()).map((r) => [r.body, r.status, r.error?.code])).toEqual([["bad", "failed", code]]);
    // The app may try again by hand: the same id goes out once more.
    server.script.length = 0;
    outbox.retry(bad.clientMessageId);
    const again = outbox.list()[0]!;
    expect(again.status).toBe("pending");
    expect((await again.settled).status).toBe("sent");
    expect(server.attempts[2]!.record.clientMessageId).toBe(bad.clientMessageId);
  });

  it("an ack lost in flight (timeout answered UNAVAILABLE) is retried and the server's duplicate answer settles it", async () => {
    const server = fakeServer();
    const { outbox } = makeOutbox(server);
    await outbox.start("alice", "Alice");
    // The server stores it but the answer is lost: the transport reports no answer.
    const original = server.transport.socket.bind(server.transport);
    let first = true;
    server.transport.socket = (r) => {
      const p = original(r);
      if (first && p) {
        first = false;
        return p.then(() => ({ ok: false as const, error: { code: "UNAVAILABLE" as const, message: "no answer to message:send" } }));
      }
      return p;
    };
    const out = outbox.enqueue(A, { body: "once" });
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await out.settled).status).toBe("sent");
    expect(server.stored.size).toBe(1);
    expect(server.attempts).toHaveLength(2);
  });

  it("offline: waits for the socket, then falls back to HTTP after httpFallbackAfterMs", async () => {
    const server = fakeServer();
    server.goOffline();
    const { outbox } = makeOutbox(server, memoryStorage(), 5_000);
    await outbox.start("alice", "Alice");
    const out = outbox.enqueue(A, { body: "via http" });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(server.attempts).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect((await out.settled).status).toBe("sent");
    expect(server.attempts.map((a) => a.via)).toEqual(["http"]);
  });

  it("offline without fallback: nothing is attempted until wake(); then everything goes, in order", async () => {
    const server = fakeServer();
    server.goOffline();
    const { outbox } = makeOutbox(server);
    await outbox.start("alice", "Alice");
    const outs = Array.from({ length: 10 }, (_, i) => outbox.enqueue(A, { body: `m${i}` }));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.attempts).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    server.goOnline();
    outbox.wake();
    await Promise.all(outs.map((o) => o.settled));
    expect([...server.stored.values()].map((m) => [m.seq, m.body])).toEqual(outs.map((o, i) => [i + 1, o.body]));
  });

  it("messages kept from an earlier run are sent on start, oldest first; another user's are left alone", async () => {
    const server = fakeServer();
    const storage = memoryStorage();
    const record = (body: string, order: number, userId = "alice"): OutboxRecord => ({
      clientMessageId: randomUUID(),
      conversationId: A,
      userId,
      senderName: "Alice",
      kind: "text",
      body,
      createdAt: new Date(Date.now() - 60_000).toISOString(),
      status: "pending",
      order,
    });
    await storage.put(record("second", 2));
    await storage.put(record("first", 1));
    await storage.put(record("mallory's", 3, "mallory"));
    const { outbox } = makeOutbox(server, storage);
    await outbox.start("alice", "Alice");
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(0);
    expect([...server.stored.values()].map((m) => m.body)).toEqual(["first", "second"]);
    expect((await storage.load()).map((r) => r.body)).toEqual(["mallory's"]);
  });

  it("close() leaves no timer behind, even with retries pending", async () => {
    const server = fakeServer();
    const { outbox } = makeOutbox(server, memoryStorage(), 5_000);
    await outbox.start("alice", "Alice");
    server.script.push({ code: "UNAVAILABLE", message: "x" });
    outbox.enqueue(A, { body: "retrying" });
    server.goOffline();
    outbox.enqueue(B, { body: "waiting for fallback" });
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    outbox.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
