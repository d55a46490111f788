import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Message } from "@parley/protocol";
import { AckBatchSchema, decodeAckBatch, type Ack, type AckBatch } from "./ack-batch.js";

const message = (): Message => ({
  id: randomUUID(),
  conversationId: randomUUID(),
  seq: 1,
  senderId: "alice",
  senderName: "Alice",
  clientMessageId: randomUUID(),
  kind: "text",
  body: "hi",
  createdAt: new Date().toISOString(),
});
const stored = (): Ack => ({ itemId: randomUUID(), outcome: { ok: true, message: message(), duplicate: false } });
const refused = (): Ack => ({ itemId: randomUUID(), outcome: { ok: false, error: { code: "FORBIDDEN", message: "not a member of this conversation" } } });

describe("ack batch", () => {
  it("reads back what the persister publishes", () => {
    const batch: AckBatch = { acks: [stored(), refused()] };
    expect(AckBatchSchema.parse(JSON.parse(JSON.stringify(batch)))).toEqual(batch);
    expect(decodeAckBatch(JSON.stringify(batch))).toEqual({ acks: batch.acks, unreadable: 0 });
  });

  it("reads each ack on its own: one unreadable ack does not cost the others theirs", () => {
    const good = [stored(), refused()];
    const raw = JSON.stringify({ acks: [good[0], { itemId: "not-a-uuid", outcome: { ok: true } }, good[1]] });
    expect(AckBatchSchema.safeParse(JSON.parse(raw)).success).toBe(false);
    expect(decodeAckBatch(raw)).toEqual({ acks: good, unreadable: 1 });
  });

  it("is undefined for what is not an ack batch at all, and never throws", () => {
    expect(decodeAckBatch("{")).toBeUndefined();
    expect(decodeAckBatch("null")).toBeUndefined();
    expect(decodeAckBatch(JSON.stringify({ acks: "none" }))).toBeUndefined();
  });
});
