import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { io as connectSocket, type Socket as ClientSocket } from "socket.io-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Message } from "@parley/protocol";
import { createClient } from "./create-client.js";
import type { ConnectionState, ConnectionStateChange } from "./types.js";

/** An unsigned JWT-shaped token: the SDK only reads its claims; the small server below checks `sub`. */
function token(sub: string, expInSeconds = 3_600): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "none" })}.${b64({ sub, name: sub.toUpperCase(), iat: now, exp: now + expInSeconds })}.sig`;
}

/**
 * A small stand-in for a gateway (socket.io server speaking the contract's events): enough to
 * drive the client's connection, outbox and views in a unit test. The real gateway is
 * exercised by tests/cluster/test/client-*.test.ts.
 */
async function miniGateway(options: { refuse?: (sub: string) => string | undefined; presenceQuery?: (emit: (event: string, payload: unknown) => void, ack: (a: unknown) => void) => void } = {}) {
  const http = createServer();
  const server = new Server(http);
  const conversationId = randomUUID();
  const messages: Message[] = [];
  const received: { event: string; payload: unknown }[] = [];
  server.use((socket, next) => {
    const raw = (socket.handshake.auth as { token?: string }).token ?? "";
    const sub = JSON.parse(Buffer.from(raw.split(".")[1] ?? "", "base64url").toString() || "{}").sub as string | undefined;
    const refusal = sub ? options.refuse?.(sub) : "AUTH_REQUIRED";
    // The gateway's two kinds of refusal: a verdict on the token, or "cannot judge it now".
    if (refusal) return next(Object.assign(new Error(refusal === "UNAVAILABLE" ? "unavailable" : "unauthorized"), { data: { code: refusal } }));
    socket.data.userId = sub;
    next();
  });
  server.on("connection", (socket) => {
    socket.onAny((event: string, payload: unknown, ack?: (a: unknown) => void) => {
      received.push({ event, payload });
      if (typeof ack !== "function") return;
      if (event === "sync") return ack({ ok: true, conversations: [{ id: conversationId, lastSeq: messages.length, lastReadSeq: 0, unreadCount: 0, messages, hasMore: false }] });
      if (event === "message:send") {
        const p = payload as { clientMessageId: string; body: string };
        const message: Message = {
          id: randomUUID(),
          conversationId,
          seq: messages.length + 1,
          senderId: socket.data.userId as string,
          senderName: "Server Name",
          clientMessageId: p.clientMessageId,
          kind: "text",
          body: p.body,
          createdAt: new Date().toISOString(),
        };
        messages.push(message);
        ack({ ok: true, message, duplicate: false });
        server.emit("message:new", message);
        return;
      }
      if (event === "message:read") return ack({ ok: true, lastReadSeq: (payload as { seq: number }).seq, unreadCount: 0 });
      if (event === "presence:query" && options.presenceQuery) return options.presenceQuery((e, p) => socket.emit(e, p), ack);
      ack({ ok: true });
    });
    socket.emit("session:ready", { userId: socket.data.userId, serverTime: new Date().toISOString() });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url,
    server,
    conversationId,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

describe("createClient", () => {
  afterEach(() => vi.useRealTimers());

  it("presence: an answer that is news is a presence event, once; an event heard while the query was on its way stands over the answer", async () => {
    let stale = false;
    const gw = await miniGateway({
      presenceQuery: (emit, ack) => {
        // The second time: bob goes offline (the event) while the answer, read before, still says online.
        if (stale) emit("presence", { userId: "bob", status: "offline", lastSeenAt: "2026-12-07T12:00:00.000Z" });
        ack({ ok: true, presence: [{ userId: "bob", status: "online" }] });
      },
    });
    const client = createClient({ url: gw.url, getToken: () => token("alice") });
    try {
      const heard: string[] = [];
      client.on("presence", (e) => heard.push(e.status));
      await waitFor(() => client.state === "online", "online");
      await client.presence(["bob"]);
      await client.presence(["bob"]);
      expect(heard).toEqual(["online"]);
      stale = true;
      await client.presence(["bob"]);
      expect(heard).toEqual(["online", "offline"]);
      expect(client.presenceOf("bob")?.status).toBe("offline");
    } finally {
      await client.close();
      await gw.close();
    }
  });

  it("close() leaves no timer, socket or listener behind", async () => {
    const gw = await miniGateway();
    // Fake timers that still advance with the clock, so the real sockets keep working; every
    // timer made from here on (the SDK's, socket.io-client's, the server's) is counted.
    vi.useFakeTimers({ shouldAdvanceTime: true, toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    const sockets: ClientSocket[] = [];
    const client = createClient({
      url: gw.url,
      getToken: () => token("alice"),
      socketFactory: (url, opts) => {
        const s = connectSocket(url, opts);
        sockets.push(s);
        return s;
      },
    });
    const states: ConnectionState[] = [];
    client.on("state", (s) => states.push(s.current));
    client.on("messages", () => {});
    await waitFor(() => client.state === "online", "online");
    const view = client.conversation(gw.conversationId);
    await waitFor(() => view.loaded, "the first sync");
    view.input(); // typing timers
    const sent = await view.send("hello").settled;
    expect(sent.status).toBe("sent");
    view.input();
    gw.server.emit("typing", { conversationId: gw.conversationId, userId: "bob", userName: "Bob", isTyping: true });
    await waitFor(() => view.typing.length === 1, "bob typing");
    view.markShown(1); // a receipt timer
    expect(vi.getTimerCount()).toBeGreaterThan(3);

    const serverSocket = [...gw.server.of("/").sockets.values()][0]!;
    const disconnected = new Promise<void>((resolve) => serverSocket.once("disconnect", () => resolve()));
    await client.close();
    await client.close(); // twice is fine
    await disconnected;
    await new Promise((r) => setImmediate(r));
    expect(client.state).toBe("closed");
    expect(states.at(-1)).toBe("closed");
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.connected).toBe(false);
    expect(sockets[0]!.hasListeners("message:new")).toBe(false);
    expect(sockets[0]!.hasListeners("disconnect")).toBe(false);
    // Node's `ws` keeps a closing-handshake timer until the TCP connection has closed (a
    // browser's WebSocket does this natively); it goes within moments. Nothing else may remain.
    await waitFor(() => vi.getTimerCount() === 0, "no timers left");
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
    await gw.close();
  });

  it("reconnects with full-jitter backoff after the server goes away, and resumes by cursor", async () => {
    const gw = await miniGateway();
    const client = createClient({ url: gw.url, getToken: () => token("alice"), reconnect: { baseMs: 50, maxMs: 200 } });
    await waitFor(() => client.state === "online", "online");
    const view = client.conversation(gw.conversationId);
    await view.send("one").settled;
    const syncsBefore = gw.received.filter((r) => r.event === "sync").length;
    const changes: ConnectionStateChange[] = [];
    client.on("state", (s) => changes.push(s));
    gw.server.disconnectSockets(true);
    await waitFor(() => client.state === "online" && changes.length >= 2, "reconnected");
    expect(changes.slice(0, 3).map((c) => [c.previous, c.current, c.reason])).toEqual([
      ["online", "offline", "disconnected"],
      ["offline", "connecting", "retry"],
      ["connecting", "online", "ready"],
    ]);
    // The backoff's delay for the first attempt: within [0, baseMs].
    expect(changes[0]!.retryInMs).toBeGreaterThanOrEqual(0);
    expect(changes[0]!.retryInMs).toBeLessThanOrEqual(50);
    expect(changes[1]!.retryInMs).toBeUndefined();
    expect(client.stateChange).toEqual(changes.at(-1));
    // The resume sync follows `online` (it may still be on the wire when the state changes).
    await waitFor(() => gw.received.filter((r) => r.event === "sync").length > syncsBefore, "the resume sync");
    const syncs = gw.received.filter((r) => r.event === "sync");
    expect(syncs).toHaveLength(syncsBefore + 1);
    expect(syncs.at(-1)!.payload).toMatchObject({ cursors: { [gw.conversationId]: 1 } });
    await client.close();
    await gw.close();
  });

  it("session:resync: the same sync by cursor as after a reconnect, on the socket it has", async () => {
    const gw = await miniGateway();
    const client = createClient({ url: gw.url, getToken: () => token("alice") });
    await waitFor(() => client.state === "online", "online");
    const view = client.conversation(gw.conversationId);
    await view.send("one").settled;
    const syncs = () => gw.received.filter((r) => r.event === "sync");
    const before = syncs().length;
    const states: ConnectionState[] = [];
    client.on("state", (s) => states.push(s.current));
    gw.server.emit("session:resync", { reason: "redis-reconnected" });
    await waitFor(() => syncs().length === before + 1, "the sync");
    expect(syncs().at(-1)!.payload).toMatchObject({ cursors: { [gw.conversationId]: 1 } });
    expect(states).toEqual([]);
    await client.close();
    await gw.close();
  });

  it("a page that becomes visible again syncs on the socket it has (a lost last message shows without a later event)", async () => {
    const gw = await miniGateway();
    // A browser's document, as far as the client looks at it.
    const listeners = new Set<() => void>();
    const doc = {
      visibilityState: "visible",
      addEventListener: (_t: string, fn: () => void) => void listeners.add(fn),
      removeEventListener: (_t: string, fn: () => void) => void listeners.delete(fn),
    };
    vi.stubGlobal("document", doc);
    try {
      const client = createClient({ url: gw.url, getToken: () => token("alice") });
      await waitFor(() => client.state === "online", "online");
      client.conversation(gw.conversationId);
      const syncs = () => gw.received.filter((r) => r.event === "sync").length;
      await waitFor(() => syncs() === 1, "the first sync");
      doc.visibilityState = "hidden";
      for (const fn of listeners) fn();
      doc.visibilityState = "visible";
      for (const fn of listeners) fn();
      await waitFor(() => syncs() === 2, "the sync on becoming visible");
      expect(client.state).toBe("online"); // the same socket
      await client.close();
      expect(listeners.size).toBe(0);
    } finally {
      vi.unstubAllGlobals();
      await gw.close();
    }
  });

  it("unauthorized: a fresh token that is still refused stops retrying until reconnect()", async () => {
    let allow = false;
    const gw = await miniGateway({ refuse: () => (allow ? undefined : "AUTH_INVALID") });
    let asked = 0;
    const client = createClient({
      url: gw.url,
      getToken: () => {
        asked++;
        return token("alice");
      },
    });
    await waitFor(() => client.state === "unauthorized", "unauthorized");
    await new Promise((r) => setTimeout(r, 300));
    expect(asked).toBe(2); // the first token, then one fresh one: then it stops
    allow = true;
    client.reconnect();
    await waitFor(() => client.state === "online", "online after reconnect()");
    await client.close();
    await gw.close();
  });

  it("UNAVAILABLE at the handshake (the gateway cannot judge the token now): keeps the token and retries until accepted", async () => {
    let refusals = 0;
    const gw = await miniGateway({ refuse: () => (refusals++ < 4 ? "UNAVAILABLE" : undefined) });
    let asked = 0;
    const states: ConnectionState[] = [];
    const client = createClient({
      url: gw.url,
      getToken: () => {
        asked++;
        return token("alice");
      },
      reconnect: { baseMs: 20, maxMs: 100 },
    });
    client.on("state", (s) => states.push(s.current));
    await waitFor(() => client.state === "online", "online after four UNAVAILABLE refusals");
    expect(refusals).toBe(5);
    expect(states).not.toContain("unauthorized");
    expect(asked).toBe(1); // not a verdict on the token: no fresh one asked for
    await client.close();
    await gw.close();
  });

  it("getToken answering null means signed out: unauthorized, nothing sent", async () => {
    const gw = await miniGateway();
    const client = createClient({ url: gw.url, getToken: () => null });
    await waitFor(() => client.state === "unauthorized", "unauthorized");
    expect(gw.received).toEqual([]);
    await client.close();
    await gw.close();
  });

  it("browser offline/online events: the socket is dropped at once, nothing dials while offline, the return reconnects and sends", async () => {
    // A browser's global: an EventTarget with navigator.onLine, installed for this test only.
    const events = new EventTarget();
    const listeners = new Set<string>();
    const g = globalThis as unknown as Record<string, unknown>;
    let onLine = true;
    const originalNavigator = Object.getOwnPropertyDescriptor(globalThis, "navigator");
    g.addEventListener = (type: string, fn: EventListener) => (listeners.add(type), events.addEventListener(type, fn));
    g.removeEventListener = (type: string, fn: EventListener) => (listeners.delete(type), events.removeEventListener(type, fn));
    Object.defineProperty(globalThis, "navigator", { configurable: true, value: { get onLine() { return onLine; } } });
    const gw = await miniGateway();
    try {
      let connections = 0;
      gw.server.on("connection", () => connections++);
      const client = createClient({ url: gw.url, getToken: () => token("alice"), reconnect: { baseMs: 20, maxMs: 50 }, httpFallbackAfterMs: 0 });
      await waitFor(() => client.state === "online", "online");
      expect(listeners).toEqual(new Set(["online", "offline"]));
      onLine = false;
      events.dispatchEvent(new Event("offline"));
      expect(client.state).toBe("offline"); // at once, not after a ping timeout
      const out = client.send(gw.conversationId, "written offline");
      await new Promise((r) => setTimeout(r, 300)); // several backoff rounds
      expect(connections).toBe(1);
      expect(out.status).toBe("pending");
      onLine = true;
      events.dispatchEvent(new Event("online"));
      expect((await out.settled).status).toBe("sent");
      expect(connections).toBe(2);
      await client.close();
      expect(listeners.size).toBe(0);
    } finally {
      delete g.addEventListener;
      delete g.removeEventListener;
      delete (globalThis as { navigator?: unknown }).navigator;
      if (originalNavigator) Object.defineProperty(globalThis, "navigator", originalNavigator);
      await gw.close();
    }
  });
});
