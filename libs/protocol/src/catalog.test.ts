import { randomUUID } from "node:crypto";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  ClientEvents,
  LIMITS,
  MessageSchema,
  ERROR_STATUS,
  HttpRoutes,
  ParleyError,
  UserIdSchema,
  parseOrThrow,
  type ClientAck,
  type ClientToServerEvents,
  type ErrorCode,
  type Message,
  type ServerToClientEvents,
} from "./index.js";

describe("the event catalog", () => {
  it("derives Socket.IO's types from the schemas (pinned at compile time)", () => {
    expectTypeOf<Parameters<ClientToServerEvents["message:send"]>[0]>().toEqualTypeOf<{
      conversationId: string;
      clientMessageId: string;
      body: string;
      kind?: "text" | "image" | "file" | "audio" | "video" | undefined;
      replyToId?: string | undefined;
      attachments?: { url: string; mime: string; size: number; name?: string | undefined }[] | undefined;
    }>();
    type SendAck = ClientAck<"message:send">;
    expectTypeOf<Extract<SendAck, { ok: true }>["message"]>().toEqualTypeOf<Message>();
    expectTypeOf<Extract<SendAck, { ok: true }>["duplicate"]>().toEqualTypeOf<boolean>();
    expectTypeOf<Extract<SendAck, { ok: false }>["error"]>().toEqualTypeOf<{
      code: ErrorCode;
      message: string;
      retryAfterMs?: number | undefined;
    }>();
    expectTypeOf<Parameters<ServerToClientEvents["message:new"]>[0]>().toEqualTypeOf<Message>();
    expectTypeOf<Parameters<ServerToClientEvents["session:ready"]>[0]>().toEqualTypeOf<{ userId: string; serverTime: string; blockedUserIds?: string[] | undefined }>();
    expectTypeOf<ClientAck<"message:read">>().extract<{ ok: true }>().toHaveProperty("unreadCount");
    expectTypeOf<keyof ClientToServerEvents>().toEqualTypeOf<
      | "message:send"
      | "sync"
      | "messages:history"
      | "typing:start"
      | "typing:stop"
      | "message:delivered"
      | "message:read"
      | "presence:query"
      | "message:edit"
      | "message:delete"
      | "reaction:add"
      | "reaction:remove"
      | "auth:refresh"
      | "user:block"
      | "user:unblock"
      | "conversation:mute"
      | "conversation:unmute"
      | "message:report"
    >();
  });

  it("validates message:send as the contract says", () => {
    const ok = { conversationId: randomUUID(), clientMessageId: randomUUID(), body: "hi" };
    expect(ClientEvents["message:send"].payload.safeParse(ok).success).toBe(true);
    for (const bad of [
      { ...ok, conversationId: "nope" },
      { ...ok, body: "x".repeat(4_001) },
      { ...ok, body: "nul\u0000" },
      { ...ok, body: "cut \uD83D" },
      { ...ok, kind: "system" },
      { ...ok, attachments: [{ url: "http://insecure.example/a.png", mime: "image/png", size: 1 }] },
      { clientMessageId: ok.clientMessageId, body: "hi" },
    ]) {
      expect(ClientEvents["message:send"].payload.safeParse(bad).success).toBe(false);
    }
  });

  it("bounds sync's limit to 1..500", () => {
    const schema = ClientEvents.sync.payload;
    expect(schema.safeParse({ limit: 500 }).success).toBe(true);
    expect(schema.safeParse({ limit: 0 }).success).toBe(false);
    expect(schema.safeParse({ limit: 501 }).success).toBe(false);
    expect(schema.safeParse({ cursors: { [randomUUID()]: 3 } }).success).toBe(true);
    expect(schema.safeParse({ cursors: { "not-a-uuid": 3 } }).success).toBe(false);
  });

  it("coerces HTTP query strings with the same bounds", () => {
    expect(HttpRoutes.listMessages.query.parse({ beforeSeq: "10", limit: "5" })).toEqual({ beforeSeq: 10, limit: 5 });
    expect(HttpRoutes.listMessages.query.safeParse({ limit: "0" }).success).toBe(false);
  });
});

describe("errors", () => {
  it("maps every code to the contract's HTTP status", () => {
    expect(ERROR_STATUS).toEqual({
      VALIDATION: 400,
      UNAUTHORIZED: 401,
      FORBIDDEN: 403,
      NOT_FOUND: 404,
      CONFLICT: 409,
      PAYLOAD_TOO_LARGE: 413,
      REJECTED: 422,
      RATE_LIMITED: 429,
      INTERNAL: 500,
      UNAVAILABLE: 503,
    });
    expect(new ParleyError("RATE_LIMITED", "slow down", 250).toBody()).toEqual({ code: "RATE_LIMITED", message: "slow down", retryAfterMs: 250 });
  });

  it("refuses user ids Postgres cannot store (NUL, lone surrogates), wherever they are given", () => {
    for (const id of ["alice", "user-1@example.com", "Zoë", "👩‍💻", "x".repeat(128)]) {
      expect({ id, ok: UserIdSchema.safeParse(id).success }).toEqual({ id, ok: true });
    }
    for (const id of ["", "\u0000", "al\u0000ice", "\uD83D", "a\uDC4D", "x".repeat(129)]) {
      expect({ id, ok: UserIdSchema.safeParse(id).success }).toEqual({ id, ok: false });
    }
    expect(() => parseOrThrow(ClientEvents["presence:query"].payload, { userIds: ["bob", "\u0000"] })).toThrow(ParleyError);
    expect(HttpRoutes.addMembers.body.safeParse({ userIds: ["b\u0000b"] }).success).toBe(false);
  });

  it("names the offending field in VALIDATION errors", () => {
    expect(() => parseOrThrow(ClientEvents["messages:history"].payload, { conversationId: "x" })).toThrow(/conversationId/);
  });
});

describe("issue 3: reactions and search", () => {
  it("adds reactions to the Message object as an optional field (extend only by adding)", () => {
    expectTypeOf<Message["reactions"]>().toEqualTypeOf<{ emoji: string; userIds: string[] }[] | undefined>();
    const base = {
      id: randomUUID(),
      conversationId: randomUUID(),
      seq: 1,
      senderId: "alice",
      senderName: "Alice",
      clientMessageId: randomUUID(),
      kind: "text",
      body: "hi",
      createdAt: new Date().toISOString(),
    };
    expect(MessageSchema.safeParse(base).success).toBe(true);
    expect(MessageSchema.safeParse({ ...base, reactions: [{ emoji: "👍", userIds: ["bob"] }] }).success).toBe(true);
  });

  it("accepts one emoji or a :shortcode: as a reaction, nothing else", () => {
    const schema = ClientEvents["reaction:add"].payload;
    const messageId = randomUUID();
    for (const emoji of ["👍", "❤️", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "1️⃣", ":party_parrot:", ":+1:"]) {
      expect({ emoji, ok: schema.safeParse({ messageId, emoji }).success }).toEqual({ emoji, ok: true });
    }
    for (const emoji of ["", "a", "1", "hello", "👍👍", "👍 ", " 👍", "\uD83D", ":Nope:", "::", `:${"x".repeat(31)}:`, "👍".repeat(17)]) {
      expect({ emoji, ok: schema.safeParse({ messageId, emoji }).success }).toEqual({ emoji, ok: false });
    }
    expect(ClientEvents["reaction:remove"].payload.safeParse({ messageId, emoji: "🎉" }).success).toBe(true);
    expect(LIMITS.emojiChars).toBe(32);
  });

  it("validates edits with the send body's rules", () => {
    const schema = ClientEvents["message:edit"].payload;
    const messageId = randomUUID();
    expect(schema.safeParse({ messageId, body: "fixed" }).success).toBe(true);
    for (const body of ["", "   ", "x".repeat(4_001), "nul\u0000", "cut \uD83D"]) {
      expect(schema.safeParse({ messageId, body }).success).toBe(false);
    }
  });

  it("bounds search's q and limit, coercing the query string", () => {
    const q = HttpRoutes.search.query;
    expect(q.parse({ q: "hello world", limit: "5" })).toEqual({ q: "hello world", limit: 5 });
    for (const bad of [{}, { q: "" }, { q: "   " }, { q: "x".repeat(257) }, { q: "a\u0000" }, { q: "\uD83D" }, { q: "a", limit: "0" }, { q: "a", limit: "101" }, { q: "a", limit: "x" }, { q: "a", conversationId: "nope" }]) {
      expect({ bad, ok: q.safeParse(bad).success }).toEqual({ bad, ok: false });
    }
    expect(LIMITS.searchMaxLimit).toBe(100);
  });
});
