import type { Message } from "@parley/client";
import { describe, expect, it } from "vitest";
import { shouldAlert, type AlertContext } from "./should-alert.js";

const message = (over: Partial<Message> = {}): Message =>
  ({ id: "m1", conversationId: "c1", seq: 5, senderId: "alice", senderName: "Alice", clientMessageId: "x", kind: "text", body: "hi", createdAt: "2026-01-01T10:00:10.000Z", ...over }) as Message;
const ctx = (over: Partial<AlertContext> = {}): AlertContext => ({ me: "bob", enabled: true, muted: new Set(), blocked: new Set(), openId: undefined, hidden: false, since: Date.parse("2026-01-01T10:00:00.000Z"), ...over });

describe("shouldAlert", () => {
  it("alerts for another user's message in a conversation that is not on screen", () => {
    expect(shouldAlert(message(), ctx({ openId: "c2" }))).toBe(true);
    expect(shouldAlert(message(), ctx())).toBe(true);
  });
  it("alerts for the open conversation only while the tab is hidden", () => {
    expect(shouldAlert(message(), ctx({ openId: "c1" }))).toBe(false);
    expect(shouldAlert(message(), ctx({ openId: "c1", hidden: true }))).toBe(true);
  });
  it("never for a blocked user's message", () => {
    expect(shouldAlert(message(), ctx({ blocked: new Set(["alice"]) }))).toBe(false);
    expect(shouldAlert(message(), ctx({ blocked: new Set(["carol"]) }))).toBe(true);
  });
  it("never for own messages, muted conversations, switched-off alerts, system messages or history", () => {
    expect(shouldAlert(message({ senderId: "bob" }), ctx())).toBe(false);
    expect(shouldAlert(message(), ctx({ muted: new Set(["c1"]) }))).toBe(false);
    expect(shouldAlert(message(), ctx({ enabled: false }))).toBe(false);
    expect(shouldAlert(message({ kind: "system" }), ctx())).toBe(false);
    expect(shouldAlert(message({ createdAt: "2026-01-01T09:59:59.000Z" }), ctx())).toBe(false);
  });
});
