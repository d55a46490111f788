import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { persistPartitionOf } from "@parley/bus";
import type { PersistItem } from "@parley/db";
import { PartitionedSendBuffer } from "./partitioned-send-buffer.js";

const item = (conversationId: string): PersistItem => ({
  id: randomUUID(),
  conversationId,
  senderId: "alice",
  senderName: "Alice",
  clientMessageId: randomUUID(),
  kind: "text",
  body: "hi",
});

describe("PartitionedSendBuffer", () => {
  it("hands each send to its conversation's partition, a conversation always to the same one", () => {
    const seen: PersistItem[][] = [[], [], [], []];
    const buffer = new PartitionedSendBuffer(4, (k) => ({ push: (i) => seen[k]!.push(i) }));
    const conversations = Array.from({ length: 40 }, () => randomUUID());
    for (let round = 0; round < 3; round++) for (const c of conversations) buffer.push(item(c));
    for (const [k, items] of seen.entries()) {
      for (const i of items) expect(persistPartitionOf(i.conversationId, 4)).toBe(k);
    }
    expect(seen.flat()).toHaveLength(120);
    // 40 conversations over 4 partitions: every partition gets some.
    expect(seen.every((items) => items.length > 0)).toBe(true);
  });

  it("with one partition is one buffer", () => {
    let pushed = 0;
    const made: number[] = [];
    const buffer = new PartitionedSendBuffer(1, (k) => {
      made.push(k);
      return { push: () => pushed++ };
    });
    buffer.push(item(randomUUID()));
    buffer.push(item(randomUUID()));
    expect(made).toEqual([0]);
    expect(pushed).toBe(2);
  });
});
