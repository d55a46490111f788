import { afterEach, describe, expect, it, vi } from "vitest";
import { ParleyError } from "@parley/protocol";
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
  it("answers each send with the ack of its own item", async () => {
    const pending = new PendingAcks(1_000);
    const first = pending.wait("item-1");
    const second = pending.wait("item-2");
    pending.settle({ itemId: "item-2", outcome: { ok: true, message, duplicate: true } });
    pending.settle({ itemId: "item-1", outcome: { ok: true, message, duplicate: false } });
    await expect(first).resolves.toEqual({ ok: true, message, duplicate: false });
    await expect(second).resolves.toEqual({ ok: true, message, duplicate: true });
    expect(pending.size).toBe(0);
  });

  it("answers UNAVAILABLE when the commit does not come in time", async () => {
    vi.useFakeTimers();
    const pending = new PendingAcks(1_500);
    const waiting = pending.wait("item-1");
    const assertion = expect(waiting).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await vi.advanceTimersByTimeAsync(1_500);
    await assertion;
    expect(pending.size).toBe(0);
  });

  it("ignores acks nobody waits for, and fails the waiters of a failed enqueue", async () => {
    const pending = new PendingAcks(1_000);
    const waiting = pending.wait("item-1");
    pending.settle({ itemId: "unknown", outcome: { ok: true, message, duplicate: false } });
    expect(pending.size).toBe(1);
    pending.fail([{ id: "item-1" }], new ParleyError("UNAVAILABLE", "queue away"));
    await expect(waiting).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });
});
