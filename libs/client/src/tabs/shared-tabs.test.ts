import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { afterEach, expect, it } from "vitest";
import type { Message } from "@parley/protocol";
import { createClient } from "../create-client.js";
import { memoryStorage } from "../outbox-storage.js";
import type { ParleyClient } from "../types.js";
import type { LockManagerLike } from "./leader-lock.js";

// Three "tabs" in one process: three clients sharing a name, one storage (as IndexedDB is
// shared) and Node's BroadcastChannel (the same API as the browser's). Web Locks are the
// small queue below (Node has none); the browser's are exercised by tests/browser.

function token(sub: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "none" })}.${b64({ sub, name: sub, iat: now, exp: now + 3_600 })}.sig`;
}

/** Exclusive locks granted in request order, as `navigator.locks` does. */
function fakeLocks(): LockManagerLike {
  const queues = new Map<string, { run: () => void; signal: AbortSignal | undefined }[]>();
  const held = new Set<string>();
  const next = (name: string) => {
    const waiter = queues.get(name)?.shift();
    if (waiter) waiter.run();
  };
  return {
    request(name, options, callback) {
      return new Promise((resolve, reject) => {
        const entry = {
          signal: options.signal,
          run: () => {
            held.add(name);
            void callback({}).then(resolve, reject).finally(() => {
              held.delete(name);
              next(name);
            });
          },
        };
        options.signal?.addEventListener("abort", () => {
          const q = queues.get(name) ?? [];
          const i = q.indexOf(entry);
          if (i >= 0) {
            q.splice(i, 1);
            reject(new Error("aborted"));
          }
        });
        if (!held.has(name)) entry.run();
        else queues.set(name, [...(queues.get(name) ?? []), entry]);
      });
    },
  };
}

/** A gateway stand-in: idempotent sends (by clientMessageId, like the real one), acks that can be held back. */
async function miniGateway() {
  const http = createServer();
  const server = new Server(http);
  const conversationId = randomUUID();
  const stored: Message[] = [];
  let hold: Promise<void> = Promise.resolve();
  let releaseHold = () => {};
  server.use((socket, next) => {
    socket.data.userId = JSON.parse(Buffer.from(((socket.handshake.auth as { token: string }).token.split(".")[1] ?? ""), "base64url").toString()).sub;
    next();
  });
  server.on("connection", (socket) => {
    socket.onAny(async (event: string, payload: unknown, ack?: (a: unknown) => void) => {
      if (typeof ack !== "function") return;
      if (event === "sync") return ack({ ok: true, conversations: [] });
      if (event !== "message:send") return ack({ ok: true });
      await hold;
      const p = payload as { clientMessageId: string; body: string };
      const existing = stored.find((m) => m.clientMessageId === p.clientMessageId);
      if (existing) return ack({ ok: true, message: existing, duplicate: true });
      const message: Message = {
        id: randomUUID(), conversationId, seq: stored.length + 1, senderId: socket.data.userId as string, senderName: "Ann",
        clientMessageId: p.clientMessageId, kind: "text", body: p.body, createdAt: new Date().toISOString(),
      };
      stored.push(message);
      ack({ ok: true, message, duplicate: false });
      server.emit("message:new", message);
    });
    socket.emit("session:ready", { userId: socket.data.userId, serverTime: new Date().toISOString(), blockedUserIds: ["bob"] });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    conversationId,
    stored,
    sockets: () => server.of("/").sockets.size,
    emit: (event: string, payload: unknown) => server.emit(event, payload),
    dropSockets: () => server.disconnectSockets(true),
    holdAcks() {
      hold = new Promise((resolve) => (releaseHold = resolve));
    },
    releaseAcks: () => releaseHold(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const waitFor = async (check: () => boolean, what: string, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function threeTabs() {
  const gateway = await miniGateway();
  cleanup.push(gateway.close);
  const locks = fakeLocks();
  const storage = memoryStorage();
  const name = `ann-${randomUUID()}`;
  const tabs: ParleyClient[] = [];
  for (let i = 0; i < 3; i++) {
    const tab = createClient({ url: gateway.url, getToken: () => token("ann"), storage, shareConnection: { name }, tabLocks: locks, httpFallbackAfterMs: 0 });
    tabs.push(tab);
    cleanup.push(() => tab.close());
  }
  await waitFor(() => tabs.every((t) => t.state === "online"), "every tab online");
  return { gateway, tabs };
}

it("three tabs: one socket; a send from any tab is stored once and every tab sees the outcome", async () => {
  const { gateway, tabs } = await threeTabs();
  expect(gateway.sockets()).toBe(1);
  const [, b, c] = tabs;
  const sent = b!.send(gateway.conversationId, "from the second tab");
  expect((await sent.settled).status).toBe("sent");
  expect(gateway.stored.map((m) => m.body)).toEqual(["from the second tab"]);
  // Every tab has it in its conversation (the holder's event, relayed).
  await waitFor(() => tabs.every((t) => t.conversation(gateway.conversationId).messages.some((m) => m.body === "from the second tab" && m.status === "sent")), "every tab shows it sent");
  expect(c!.outbox()).toEqual([]);
  expect(gateway.sockets()).toBe(1);
});

it("a queued message is seen in every tab, and a discard in one reaches all: it is never sent", async () => {
  const { gateway, tabs } = await threeTabs();
  const [a, b, c] = tabs;
  gateway.holdAcks();
  const first = c!.send(gateway.conversationId, "held in flight");
  const second = c!.send(gateway.conversationId, "to be discarded");
  await waitFor(() => tabs.every((t) => t.outbox().length === 2), "both queued in every tab");
  await b!.discard(second.clientMessageId);
  await waitFor(() => tabs.every((t) => t.outbox().length === 1 && t.outbox()[0]!.body === "held in flight"), "the discard seen in every tab");
  gateway.releaseAcks();
  expect((await first.settled).status).toBe("sent");
  expect((await second.settled).status).toBe("failed");
  await new Promise((r) => setTimeout(r, 200)); // a send of the discarded one would have landed by now
  expect(gateway.stored.map((m) => m.body)).toEqual(["held in flight"]);
  expect(a!.outbox()).toEqual([]);
});

it("the holder closes with messages in flight: another tab takes over within two seconds and each is stored once", async () => {
  const { gateway, tabs } = await threeTabs();
  const [a, b, c] = tabs;
  gateway.holdAcks();
  const queued = [c!.send(gateway.conversationId, "one"), b!.send(gateway.conversationId, "two"), c!.send(gateway.conversationId, "three")];
  await waitFor(() => tabs.every((t) => t.outbox().length === 3), "queued in every tab");
  const closedAt = Date.now();
  await a!.close();
  await waitFor(() => b!.state === "online" && c!.state === "online" && gateway.sockets() === 1, "a new holder online", 2_000);
  expect(Date.now() - closedAt).toBeLessThan(2_000);
  gateway.releaseAcks();
  const outcomes = await Promise.all(queued.map((q) => q.settled));
  expect(outcomes.map((o) => o.status)).toEqual(["sent", "sent", "sent"]);
  expect([...gateway.stored.map((m) => m.body)].sort()).toEqual(["one", "three", "two"]);
  await waitFor(() => b!.outbox().length === 0 && c!.outbox().length === 0, "the queues empty");
});

it("every tab gets the holder's state changes (reason, retry time), its blocks, and disconnect() in a tab pauses only that tab", async () => {
  const { gateway, tabs } = await threeTabs();
  const [, b, c] = tabs;
  // session:ready's blocks reach the tabs that do not hold the socket; blocks:changed too.
  expect(b!.blocks.userIds).toEqual(["bob"]);
  const seen: string[][] = [];
  b!.on("blocks", (e) => seen.push([...e.userIds]));
  gateway.emit("blocks:changed", { userIds: ["bob", "carol"] });
  await waitFor(() => c!.blocks.userIds.length === 2 && b!.blocks.userIds.length === 2, "blocks:changed in every tab");
  expect(seen).toEqual([["bob", "carol"]]);
  // The holder loses its socket: the other tabs see why, and when it retries.
  const changes: { current: string; previous: string; reason: string; retryInMs?: number }[] = [];
  b!.on("state", (change) => changes.push(change));
  gateway.dropSockets();
  await waitFor(() => changes.some((ch) => ch.current === "offline"), "offline in a follower");
  const offline = changes.find((ch) => ch.current === "offline")!;
  expect(offline).toMatchObject({ previous: "online", reason: "disconnected" });
  expect(offline.retryInMs).toBeGreaterThanOrEqual(0);
  await waitFor(() => tabs.every((t) => t.state === "online"), "every tab online again");
  expect(changes.at(-1)).toMatchObject({ current: "online", reason: "ready" });
  expect(b!.stateChange).toEqual(changes.at(-1));
  // disconnect() in a follower: that tab is offline (no retry), its requests refused; the others stay online.
  b!.disconnect();
  expect(b!.stateChange).toMatchObject({ current: "offline", previous: "online", reason: "disconnect" });
  expect(b!.stateChange.retryInMs).toBeUndefined();
  expect(c!.state).toBe("online");
  await expect(b!.conversation(gateway.conversationId).loadOlder()).rejects.toMatchObject({ code: "UNAVAILABLE" });
  b!.connect();
  await waitFor(() => b!.state === "online", "the paused tab online again");
  expect(gateway.sockets()).toBe(1);
});
