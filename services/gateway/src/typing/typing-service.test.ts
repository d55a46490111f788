import { afterEach, describe, expect, it, vi } from "vitest";
import { Registry } from "prom-client";
import type { ParleyServer } from "../socket/types.js";
import { createTypingMetrics } from "./metrics.js";
import { TypingService } from "./typing-service.js";

// The throttle's bookkeeping only; the fan-out through real rooms is tests/cluster (limits.test.ts, conversation-events.test.ts).

const conversationId = "0190f0c8-0000-7000-8000-000000000002";
const alice = { userId: "alice", name: "Alice" };

function service(throttleMs = 3_000, timeoutMs = 6_000) {
  const heard: boolean[] = [];
  const room = { except: () => ({ emit: (_event: string, e: { isTyping: boolean }) => heard.push(e.isTyping) }) };
  const io = { to: () => room } as unknown as ParleyServer;
  const typing = new TypingService({
    io,
    conversations: { requireRole: async () => "member" },
    gate: { shedding: false },
    blocks: { separatedFrom: async () => [] },
    metrics: createTypingMetrics(new Registry()),
    config: { throttleMs, timeoutMs },
  });
  return { typing, heard };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("typing throttle", () => {
  it("survives typing:stop: alternating start and stop forwards two starts and two stops per window", async () => {
    vi.useFakeTimers();
    const { typing, heard } = service();
    for (let i = 0; i < 20; i++) {
      await typing.start(alice, conversationId);
      await typing.stop(alice, conversationId);
    }
    expect(heard).toEqual([true, false, true, false]);
    // After the window the next start goes out, and the server's own stop follows its timeout.
    await vi.advanceTimersByTimeAsync(3_000);
    expect(typing.size).toBe(0);
    await typing.start(alice, conversationId);
    await typing.stop(alice, conversationId);
    await typing.start(alice, conversationId);
    await typing.stop(alice, conversationId);
    await typing.start(alice, conversationId);
    expect(heard).toEqual([true, false, true, false, true, false, true, false]);
    // The window ends: the held start goes out, then refreshes are throttled, then it expires.
    await vi.advanceTimersByTimeAsync(3_000);
    expect(heard).toEqual([true, false, true, false, true, false, true, false, true]);
    await typing.start(alice, conversationId);
    expect(heard).toHaveLength(9);
    await vi.advanceTimersByTimeAsync(6_000);
    expect(heard).toEqual([true, false, true, false, true, false, true, false, true, false]);
    expect(typing.size).toBe(0);
    typing.close();
  });

  it("shows a typist who sent a message and goes on typing at once", async () => {
    vi.useFakeTimers();
    const { typing, heard } = service();
    await typing.start(alice, conversationId); // typed, then sent: the SDK's stop
    await typing.stop(alice, conversationId);
    await vi.advanceTimersByTimeAsync(500);
    await typing.start(alice, conversationId); // typing the next message, within the window
    expect(heard).toEqual([true, false, true]);
    await vi.advanceTimersByTimeAsync(6_000); // and it expires like any start
    expect(heard).toEqual([true, false, true, false]);
    expect(typing.size).toBe(0);
    typing.close();
  });

  it("a start overtaken by the stop sent after it (its block look-up was slower) is dropped: the next start is shown", async () => {
    vi.useFakeTimers();
    const heard: boolean[] = [];
    const room = { except: () => ({ emit: (_event: string, e: { isTyping: boolean }) => heard.push(e.isTyping) }) };
    let releaseBlocks: (() => void) | undefined;
    const typing = new TypingService({
      io: { to: () => room } as unknown as ParleyServer,
      conversations: { requireRole: async () => "member" },
      gate: { shedding: false },
      // The first start's block look-up is slow (a cold cache); later ones answer at once.
      blocks: { separatedFrom: () => (releaseBlocks ? Promise.resolve([]) : new Promise((resolve) => (releaseBlocks = () => resolve([])))) },
      metrics: createTypingMetrics(new Registry()),
      config: { throttleMs: 3_000, timeoutMs: 6_000 },
    });
    const started = typing.start(alice, conversationId); // typed "Hi Bob!"...
    await typing.stop(alice, conversationId); // ...and sent it: the stop is applied first
    releaseBlocks!();
    await started;
    expect(heard).toEqual([]); // nothing was typing when the stop came; the stale start is not shown
    expect(typing.size).toBe(0);
    await vi.advanceTimersByTimeAsync(500);
    await typing.start(alice, conversationId); // typing the next message, within the throttle window
    expect(heard).toEqual([true]);
    typing.close();
  });

  it("a stop and the start sent right after it, both in their look-ups: applied in order, the stop then the start", async () => {
    vi.useFakeTimers();
    const heard: boolean[] = [];
    const room = { except: () => ({ emit: (_event: string, e: { isTyping: boolean }) => heard.push(e.isTyping) }) };
    const pending: (() => void)[] = [];
    let slow = false;
    const typing = new TypingService({
      io: { to: () => room } as unknown as ParleyServer,
      // While `slow`, each membership look-up waits until the test releases it.
      conversations: { requireRole: () => (slow ? new Promise((resolve) => pending.push(() => resolve("member"))) : Promise.resolve("member")) },
      gate: { shedding: false },
      blocks: { separatedFrom: async () => [] },
      metrics: createTypingMetrics(new Registry()),
      config: { throttleMs: 3_000, timeoutMs: 6_000 },
    });
    await typing.start(alice, conversationId);
    expect(heard).toEqual([true]);
    slow = true;
    const stopped = typing.stop(alice, conversationId); // sent the message
    const started = typing.start(alice, conversationId); // and typed on
    pending[0]!(); // the stop's look-up answers first
    await stopped;
    pending[1]!();
    await started;
    expect(heard).toEqual([true, false, true]);
    typing.close();
  });
});
