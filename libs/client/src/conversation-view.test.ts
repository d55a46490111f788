import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClientAck, ClientEventName, ClientPayload, Message } from "@parley/protocol";
import { ConversationViewImpl } from "./conversation-view.js";
import { Emitter } from "./emitter.js";
import type { HttpApi } from "./http-api.js";
import type { ClientEventMap } from "./types.js";

const cid = randomUUID();
const msg = (seq: number, senderId = "bob"): Message => ({
  id: randomUUID(),
  conversationId: cid,
  seq,
  senderId,
  senderName: senderId,
  clientMessageId: randomUUID(),
  kind: "text",
  body: `m${seq}`,
  createdAt: new Date(1_800_000_000_000 + seq).toISOString(),
});

/** A view with a scripted server: history answers from `server`, everything else `{ ok: true }`. */
function makeView(server: Message[], options: { synced?: () => boolean; maxWindowMessages?: number; maxCatchUpMessages?: number } = {}) {
  const requests: { event: ClientEventName; payload: unknown }[] = [];
  const emitter = new Emitter<ClientEventMap>();
  const request = async <E extends ClientEventName>(event: E, payload: ClientPayload<E>): Promise<ClientAck<E>> => {
    requests.push({ event, payload });
    if (event === "messages:history") {
      const q = payload as ClientPayload<"messages:history">;
      const after = server.filter((m) => m.seq > (q.afterSeq ?? 0) && m.seq < (q.beforeSeq ?? Infinity));
      const page = q.afterSeq !== undefined ? after.slice(0, q.limit) : after.slice(-(q.limit ?? 50));
      return { ok: true, messages: page, hasMore: page.length < after.length } as ClientAck<E>;
    }
    if (event === "message:read") {
      const seq = (payload as { seq: number }).seq;
      return { ok: true, lastReadSeq: seq, unreadCount: server.filter((m) => m.seq > seq && m.senderId !== "alice").length } as ClientAck<E>;
    }
    return { ok: true } as ClientAck<E>;
  };
  const view = new ConversationViewImpl(cid, {
    userId: () => "alice",
    synced: options.synced ?? (() => true),
    request,
    online: () => true,
    http: {} as HttpApi,
    outbox: { list: () => [], enqueue: () => { throw new Error("not in this test"); } },
    emitter,
    logger: {},
    now: () => Date.now(),
    pageSize: 3,
    maxWindowMessages: options.maxWindowMessages ?? 1_000,
    maxCatchUpMessages: options.maxCatchUpMessages ?? 500,
    receiptDelayMs: 300,
    typingIdleMs: 2_000,
    remoteTypingExpiryMs: 7_000,
  });
  return { view, requests, emitter };
}

describe("ConversationView", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("a live message beyond lastSeq + 1 makes the view page forward until the gap is filled", async () => {
    const server = Array.from({ length: 8 }, (_, i) => msg(i + 1));
    const { view, requests } = makeView(server);
    view.applySync({ id: cid, lastSeq: 2, lastReadSeq: 2, unreadCount: 0, messages: server.slice(0, 2), hasMore: false }, false);
    view.applyLive(server[7]!); // 3..7 never arrived
    await vi.advanceTimersByTimeAsync(0);
    expect(view.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(requests.filter((r) => r.event === "messages:history").map((r) => r.payload)).toEqual([
      { conversationId: cid, afterSeq: 2, limit: 3 },
      { conversationId: cid, afterSeq: 5, limit: 3 },
    ]);
    expect(view.unreadCount).toBe(6); // 8, then 3..7 found by the fill
  });

  it("a list row answered after a newer live message does not lower the count; one with newer read state does", async () => {
    const server = Array.from({ length: 4 }, (_, i) => msg(i + 1));
    const { view } = makeView(server);
    view.applySync({ id: cid, lastSeq: 3, lastReadSeq: 0, unreadCount: 3, messages: server.slice(0, 3), hasMore: false }, false);
    view.applyLive(server[3]!);
    expect(view.unreadCount).toBe(4);
    // The listing was read before message 4 was stored: its count (3) is older than the view's.
    view.applyListed({ lastSeq: 3, lastReadSeq: 0, unreadCount: 3 });
    expect(view.unreadCount).toBe(4);
    // Another device read up to 2 meanwhile: its read state is taken, with message 4 still counted (3 and 4 unread).
    view.applyListed({ lastSeq: 3, lastReadSeq: 2, unreadCount: 1 });
    expect(view.unreadCount).toBe(2);
    expect(view.lastReadSeq).toBe(2);
  });

  it("a list row is this view's first count: taken as it is, plus what the view heard live after it", () => {
    const { view } = makeView([]);
    view.applyListed({ lastSeq: 30, lastReadSeq: 0, unreadCount: 30 });
    expect(view.unreadCount).toBe(30);
    const { view: placed } = makeView([]);
    placed.place(30); // placed by an event before any listing, then a message live
    placed.applyLive(msg(31));
    placed.applyListed({ lastSeq: 30, lastReadSeq: 0, unreadCount: 30 });
    expect(placed.unreadCount).toBe(31);
  });

  it("placed at a conversation's end after the sync (a list or conversation event): it fetches the newest page by itself", async () => {
    const server = Array.from({ length: 8 }, (_, i) => msg(i + 1));
    const { view, requests } = makeView(server);
    view.place(8);
    expect(view.loaded).toBe(false);
    expect(view.cursor).toBeUndefined(); // a resume sync would ask for the newest page too
    await vi.advanceTimersByTimeAsync(0);
    expect(view.messages.map((m) => m.seq)).toEqual([6, 7, 8]);
    expect(view.loaded).toBe(true);
    expect(view.hasOlder).toBe(true);
    expect(view.cursor).toBe(8);
    expect(requests.map((r) => r.payload)).toEqual([{ conversationId: cid, beforeSeq: 9, limit: 3 }]);
    view.place(8); // placed once
    await vi.advanceTimersByTimeAsync(0);
    expect(requests).toHaveLength(1);
  });

  it("placed before the first sync: the sync brings the newest page, nothing is fetched twice", async () => {
    const server = Array.from({ length: 8 }, (_, i) => msg(i + 1));
    let synced = false;
    const { view, requests } = makeView(server, { synced: () => synced });
    view.place(8);
    view.applyLive(msg(9)); // a live message before the sync does not make it a cursor
    expect(view.cursor).toBeUndefined();
    await vi.advanceTimersByTimeAsync(0);
    expect(requests).toEqual([]);
    view.applySync({ id: cid, lastSeq: 9, lastReadSeq: 0, unreadCount: 9, messages: [...server.slice(-2), msg(9)], hasMore: true }, false);
    synced = true;
    view.fetchNewestPage(); // what the client does after every resume sync
    await vi.advanceTimersByTimeAsync(0);
    expect(view.messages.map((m) => m.seq)).toEqual([7, 8, 9]);
    expect(view.loaded).toBe(true);
    expect(requests).toEqual([]); // hasMore without a cursor means older messages: no forward paging
  });

  it("a conversation the sync's 2,000-message budget left empty fetches its newest page after the sync", async () => {
    const server = Array.from({ length: 8 }, (_, i) => msg(i + 1));
    const { view, requests } = makeView(server);
    view.applySync({ id: cid, lastSeq: 8, lastReadSeq: 0, unreadCount: 8, messages: [], hasMore: true }, false);
    expect(view.loaded).toBe(false);
    view.fetchNewestPage();
    await vi.advanceTimersByTimeAsync(0);
    expect(view.messages.map((m) => m.seq)).toEqual([6, 7, 8]);
    expect(requests.map((r) => r.payload)).toEqual([{ conversationId: cid, beforeSeq: 9, limit: 3 }]);
  });

  it("markShown lowers unread at once and sends one coalesced read (and delivered) watermark", async () => {
    const server = Array.from({ length: 5 }, (_, i) => msg(i + 1, i === 2 ? "alice" : "bob"));
    const { view, requests } = makeView(server);
    view.applySync({ id: cid, lastSeq: 5, lastReadSeq: 0, unreadCount: 4, messages: server, hasMore: false }, false);
    view.markShown(2);
    view.markShown(4);
    view.markShown(3); // lower: nothing
    expect(view.unreadCount).toBe(1); // 1, 2 and 4 are bob's; 3 is alice's own
    expect(requests.filter((r) => r.event === "message:read")).toEqual([]);
    await vi.advanceTimersByTimeAsync(300);
    expect(requests.filter((r) => r.event !== "messages:history").map((r) => [r.event, (r.payload as { seq: number }).seq])).toEqual([
      ["message:delivered", 5],
      ["message:read", 4],
    ]);
    expect(view.lastReadSeq).toBe(4);
    expect(view.unreadCount).toBe(1);
  });

  it("receipts give ticks; own and remote typing; close() clears every timer", async () => {
    const { view, requests } = makeView([]);
    view.applyReceipt({ conversationId: cid, userId: "bob", kind: "delivered", seq: 7, at: new Date().toISOString() });
    view.applyReceipt({ conversationId: cid, userId: "bob", kind: "read", seq: 5, at: new Date().toISOString() });
    view.applyReceipt({ conversationId: cid, userId: "carol", kind: "read", seq: 6, at: new Date().toISOString() });
    expect(view.receiptFor(5)).toEqual({ deliveredTo: ["bob", "carol"], readBy: ["bob", "carol"] });
    expect(view.receiptFor(7)).toEqual({ deliveredTo: ["bob"], readBy: [] });
    view.input();
    view.applyTyping({ conversationId: cid, userId: "bob", userName: "Bob", isTyping: true });
    view.applyTyping({ conversationId: cid, userId: "alice", userName: "Alice", isTyping: true }); // own: ignored
    expect(view.typing).toEqual([{ userId: "bob", userName: "Bob" }]);
    view.markShown(1);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    view.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(requests.map((r) => r.event)).toEqual(["typing:start"]);
  });

  it("a receipt past the view's end reveals a lost last message, which is fetched", async () => {
    const server = Array.from({ length: 3 }, (_, i) => msg(i + 1));
    const { view } = makeView(server);
    view.applySync({ id: cid, lastSeq: 2, lastReadSeq: 0, unreadCount: 2, messages: server.slice(0, 2), hasMore: false }, false);
    view.applyReceipt({ conversationId: cid, userId: "carol", kind: "delivered", seq: 3, at: new Date().toISOString() });
    await vi.advanceTimersByTimeAsync(0);
    expect(view.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(view.unreadCount).toBe(3);
  });

  it("far behind a live message: discontinuity, the newest page, the skipped ones counted as unread", async () => {
    const server = Array.from({ length: 20 }, (_, i) => msg(i + 1));
    const { view, emitter, requests } = makeView(server, { maxCatchUpMessages: 5 });
    const gaps: unknown[] = [];
    emitter.on("discontinuity", (d) => gaps.push(d));
    view.applySync({ id: cid, lastSeq: 2, lastReadSeq: 2, unreadCount: 0, messages: server.slice(0, 2), hasMore: false }, false);
    view.applyLive(server[19]!);
    await vi.advanceTimersByTimeAsync(0);
    expect(gaps).toEqual([{ conversationId: cid, fromSeq: 2, toSeq: 20 }]);
    expect(view.messages.map((m) => m.seq)).toEqual([18, 19, 20]);
    expect(view.hasOlder).toBe(true);
    expect(view.unreadCount).toBe(18); // 3..20, all bob's
    // No paging through 3..17: one newest-page request.
    expect(requests.filter((r) => r.event === "messages:history").map((r) => r.payload)).toEqual([{ conversationId: cid, limit: 3 }]);
  });

  it("an answer to a page requested before loadAround replaced the window is dropped", async () => {
    const server = Array.from({ length: 30 }, (_, i) => msg(i + 1));
    const { view } = makeView(server);
    view.applySync({ id: cid, lastSeq: 30, lastReadSeq: 30, unreadCount: 0, messages: server.slice(-3), hasMore: true }, false);
    const older = view.loadOlder(); // asks for 25..27
    const around = view.loadAround(10, 4);
    expect(await older).toBe(0);
    await around;
    expect(view.messages.map((m) => m.seq)).toEqual([9, 10, 11, 12]);
    expect(view.hasNewer).toBe(true);
    expect(await view.loadNewer(4)).toBe(4);
    expect(view.messages.map((m) => m.seq)).toEqual([9, 10, 11, 12, 13, 14, 15, 16]);
  });
});
