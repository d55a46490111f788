import { afterEach, describe, expect, it, vi } from "vitest";
import type { ClientAck, ClientEventName } from "@parley/protocol";
import type { ConversationViewImpl } from "./conversation-view.js";
import { ResumeLoop } from "./resume-loop.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("resume loop", () => {
  it("retries a refused sync no sooner than the server's retryAfterMs", async () => {
    vi.useFakeTimers();
    let calls = 0;
    let resumed = false;
    const loop = new ResumeLoop({
      views: () => [],
      view: () => ({ applySync: () => {} }) as unknown as ConversationViewImpl,
      request: async <E extends ClientEventName>() => {
        calls++;
        const ack = calls === 1 ? { ok: false, error: { code: "RATE_LIMITED", message: "too many reads", retryAfterMs: 45_000 } } : { ok: true, conversations: [] };
        return ack as unknown as ClientAck<E>;
      },
      online: () => true,
      pageSize: 100,
      logger: {},
      onError: () => {},
      onResumed: () => (resumed = true),
    });
    loop.run();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    // Backoff alone would have retried within 1 s (and at most 30 s).
    await vi.advanceTimersByTimeAsync(44_999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    expect(resumed).toBe(true);
    loop.stop();
  });
});
