import { describe, expect, it } from "vitest";
import type { PersistItem } from "@parley/db";
import { SendBuffer } from "./send-buffer.js";

// The buffer's batching with a stand-in for the stream append (the real XADD is exercised
// against real Redis in tests/cluster); `land()` lets an append finish when the test says so.
function fakeQueue() {
  const jobs: { items: PersistItem[]; land: () => void }[] = [];
  const queue = (_replyTo: string, items: PersistItem[]) => new Promise<void>((resolve) => jobs.push({ items, land: resolve }));
  return { queue, jobs };
}
const item = (n: number) => ({ body: String(n) }) as PersistItem;
const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("send buffer", () => {
  it("sends a lone message on the next turn", async () => {
    const { queue, jobs } = fakeQueue();
    const buffer = new SendBuffer(queue, "pod", () => {});
    buffer.push(item(1));
    await tick();
    expect(jobs.map((j) => j.items.length)).toEqual([1]);
  });

  it("gathers the sends that arrive while a job is in flight into the next job", async () => {
    const { queue, jobs } = fakeQueue();
    const buffer = new SendBuffer(queue, "pod", () => {}, () => {}, { windowMs: 0, maxItems: 500, maxInFlight: 1 });
    buffer.push(item(1));
    await tick();
    for (let i = 2; i <= 10; i++) buffer.push(item(i));
    await tick();
    expect(jobs).toHaveLength(1);
    jobs[0]!.land();
    await sleep(1);
    expect(jobs.map((j) => j.items.length)).toEqual([1, 9]);
  });

  it("sends a full buffer at once, in flight or not", async () => {
    const { queue, jobs } = fakeQueue();
    const buffer = new SendBuffer(queue, "pod", () => {}, () => {}, { windowMs: 50, maxItems: 3, maxInFlight: 1 });
    for (let i = 0; i < 7; i++) buffer.push(item(i));
    expect(jobs.map((j) => j.items.length)).toEqual([3, 3]);
  });

  it("leaves at most once per window under load", async () => {
    const { queue, jobs } = fakeQueue();
    const buffer = new SendBuffer(queue, "pod", () => {}, () => {}, { windowMs: 20, maxItems: 500, maxInFlight: 4 });
    buffer.push(item(0));
    await tick();
    jobs[0]!.land();
    for (let i = 1; i <= 5; i++) buffer.push(item(i));
    await sleep(5);
    expect(jobs).toHaveLength(1);
    await sleep(30);
    expect(jobs.map((j) => j.items.length)).toEqual([1, 5]);
  });

  it("hands the items of a failed enqueue back", async () => {
    const failed: PersistItem[][] = [];
    const append = () => Promise.reject(new Error("Stream isn't writeable"));
    const buffer = new SendBuffer(append, "pod", (items) => failed.push(items));
    buffer.push(item(1));
    await sleep(5);
    expect(failed).toEqual([[item(1)]]);
  });
});
