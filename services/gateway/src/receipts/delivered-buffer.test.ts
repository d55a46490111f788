import type { Queue } from "bullmq";
import { describe, expect, it } from "vitest";
import type { DeliveredReceipt } from "@parley/bus";
import { DeliveredBuffer } from "./delivered-buffer.js";

// The buffer's batching with a stand-in for Queue.add (BullMQ itself is exercised against
// real Redis in tests/cluster); `fail` makes the next adds reject as with Redis away.
function fakeQueue() {
  const jobs: DeliveredReceipt[][] = [];
  let fail = false;
  const queue = {
    add: async (_name: string, data: { receipts: DeliveredReceipt[] }) => {
      if (fail) throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
      jobs.push(data.receipts);
    },
  } as unknown as Queue;
  return { queue, jobs, failNext: () => (fail = true) };
}
const C1 = "018f0000-0000-7000-8000-000000000001";
const C2 = "018f0000-0000-7000-8000-000000000002";

describe("delivered buffer", () => {
  it("answers each caller once its watermark is in a job, keeping one (the highest) per conversation and user", async () => {
    const { queue, jobs } = fakeQueue();
    const buffer = new DeliveredBuffer(queue, { windowMs: 0, maxItems: 1_000 });
    await Promise.all([
      buffer.push({ conversationId: C1, userId: "bob", seq: 3 }),
      buffer.push({ conversationId: C1, userId: "bob", seq: 7 }),
      buffer.push({ conversationId: C1, userId: "bob", seq: 5 }),
      buffer.push({ conversationId: C1, userId: "carol", seq: 2 }),
      buffer.push({ conversationId: C2, userId: "bob", seq: 1 }),
    ]);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toEqual([
      { conversationId: C1, userId: "bob", seq: 7 },
      { conversationId: C1, userId: "carol", seq: 2 },
      { conversationId: C2, userId: "bob", seq: 1 },
    ]);
  });

  it("a full buffer leaves at once", async () => {
    const { queue, jobs } = fakeQueue();
    const buffer = new DeliveredBuffer(queue, { windowMs: 1_000, maxItems: 2 });
    await Promise.all([buffer.push({ conversationId: C1, userId: "a", seq: 1 }), buffer.push({ conversationId: C1, userId: "b", seq: 1 })]);
    expect(jobs).toHaveLength(1);
  });

  it("rejects every caller of a job whose add failed", async () => {
    const { queue, failNext } = fakeQueue();
    failNext();
    const buffer = new DeliveredBuffer(queue, { windowMs: 0, maxItems: 1_000 });
    const results = await Promise.allSettled([buffer.push({ conversationId: C1, userId: "a", seq: 1 }), buffer.push({ conversationId: C1, userId: "a", seq: 2 })]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });
});
