import { describe, expect, it, vi } from "vitest";
import type { PersistItem } from "@parley/db";
import { SendBuffer } from "./send-buffer.js";

// The buffer's batching with a stand-in for the stream append (the real XADD is exercised
// against real Redis in tests/cluster); `land()` lets an append finish when the test says so.
function fakeStream() {
  const entries: { items: PersistItem[]; land: () => void }[] = [];
  const append = (_replyTo: string, items: PersistItem[]) => new Promise<void>((resolve) => entries.push({ items, land: resolve }));
  return { append, entries };
}
const item = (n: number) => ({ body: String(n) }) as PersistItem;
const tick = () => new Promise((r) => setImmediate(r));

describe("send buffer", () => {
  it("sends a lone message on the next turn", async () => {
    const { append, entries } = fakeStream();
    const buffer = new SendBuffer(append, "pod", () => {});
    buffer.push(item(1));
    await tick();
    expect(entries.map((e) => e.items.length)).toEqual([1]);
  });

  it("gathers the sends that arrive while an entry is in flight into the next entry", async () => {
    const { append, entries } = fakeStream();
    const buffer = new SendBuffer(append, "pod", () => {}, () => {}, { windowMs: 0, maxItems: 500, maxInFlight: 1 });
    buffer.push(item(1));
    await tick();
    for (let i = 2; i <= 10; i++) buffer.push(item(i));
    await tick();
    expect(entries).toHaveLength(1);
    entries[0]!.land();
    // The next entry leaves on a later turn (setImmediate after the append settled), not on a timer.
    await vi.waitFor(() => expect(entries.map((e) => e.items.length)).toEqual([1, 9]));
  });

  it("sends a full buffer at once, in flight or not", async () => {
    const { append, entries } = fakeStream();
    const buffer = new SendBuffer(append, "pod", () => {}, () => {}, { windowMs: 50, maxItems: 3, maxInFlight: 1 });
    for (let i = 0; i < 7; i++) buffer.push(item(i));
    expect(entries.map((e) => e.items.length)).toEqual([3, 3]);
  });

  it("leaves at most once per window under load", async () => {
    // The buffer's own clock, faked: a loaded machine must not decide what "within the window" means.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "performance"] });
    try {
      const { append, entries } = fakeStream();
      const buffer = new SendBuffer(append, "pod", () => {}, () => {}, { windowMs: 20, maxItems: 500, maxInFlight: 4 });
      await vi.advanceTimersByTimeAsync(1_000); // the faked clock starts at 0: a window has passed since "the last entry"
      buffer.push(item(0));
      await vi.advanceTimersByTimeAsync(0);
      expect(entries).toHaveLength(1);
      entries[0]!.land();
      for (let i = 1; i <= 5; i++) buffer.push(item(i));
      await vi.advanceTimersByTimeAsync(19);
      expect(entries).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(entries.map((e) => e.items.length)).toEqual([1, 5]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("hands the items of a failed enqueue back", async () => {
    const failed: PersistItem[][] = [];
    const append = () => Promise.reject(new Error("Stream isn't writeable"));
    const buffer = new SendBuffer(append, "pod", (items) => failed.push(items));
    buffer.push(item(1));
    await vi.waitFor(() => expect(failed).toEqual([[item(1)]]));
  });
});
