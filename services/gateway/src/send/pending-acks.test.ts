import { afterEach, describe, expect, it, vi } from "vitest";
import { PendingAcks } from "./pending-acks.js";

const message = {
  id: "0190f0c8-0000-7000-8000-000000000001",
  conversationId: "0190f0c8-0000-7000-8000-000000000002",
  seq: 1,
  senderId: "alice",
  senderName: "Alice",
  clientMessageId: "0190f0c8-0000-7000-8000-000000000003",
  kind: "text" as const,
  body: "hi",
  createdAt: new Date(0).toISOString(),
};

afterEach(() => {
  vi.useRealTimers();
});

describe("pending acks", () => {
  it("answers the waiters of one (sender, clientMessageId) with their own acks, oldest first", async () => {
    const pending = new PendingAcks(1_000);
    const a = pending.wait("alice", message.clientMessageId);
    const b = pending.wait("alice", message.clientMessageId);
    const ack = (duplicate: boolean) => ({ senderId: "alice", clientMessageId: message.clientMessageId, outcome: { ok: true as const, message, duplicate } });
    pending.settle({ acks: [ack(false)] });
    await expect(a).resolves.toEqual({ ok: true, message, duplicate: false });
    expect(pending.size).toBe(1);
    pending.settle({ acks: [ack(true)] });
    await expect(b).resolves.toEqual({ ok: true, message, duplicate: true });
    expect(pending.size).toBe(0);
  });

  it("answers UNAVAILABLE when the commit does not come in time", async () => {
    vi.useFakeTimers();
    const pending = new PendingAcks(1_500);
    const waiting = pending.wait("alice", message.clientMessageId);
    const assertion = expect(waiting).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await vi.advanceTimersByTimeAsync(1_500);
    await assertion;
    expect(pending.size).toBe(0);
  });

  it("ignores acks nobody waits for, and keeps users apart", async () => {
    const pending = new PendingAcks(1_000);
    const bobs = pending.wait("bob", message.clientMessageId);
    pending.settle({ acks: [{ senderId: "alice", clientMessageId: message.clientMessageId, outcome: { ok: true, message, duplicate: false } }] });
    expect(pending.size).toBe(1);
    pending.fail([{ senderId: "bob", clientMessageId: message.clientMessageId }], new (await import("@parley/protocol")).ParleyError("UNAVAILABLE", "x"));
    await expect(bobs).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });
});
