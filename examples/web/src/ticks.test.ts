import { describe, expect, it } from "vitest";
import { ticksOf } from "./ticks.js";

const own = { status: "sent" as const, seq: 5, senderId: "alice" };

describe("ticksOf", () => {
  it("pending and failed messages show their status", () => {
    expect(ticksOf({ ...own, status: "pending", seq: undefined }, [])).toBe("pending");
    expect(ticksOf({ ...own, status: "failed", seq: undefined }, [])).toBe("failed");
  });

  it("a stored message is sent, delivered once every other member's device has it, read once every one has read it", () => {
    const receipts = (bob: [number, number], carol: [number, number]) => [
      { userId: "alice", deliveredSeq: 9, readSeq: 9 },
      { userId: "bob", deliveredSeq: bob[0], readSeq: bob[1] },
      { userId: "carol", deliveredSeq: carol[0], readSeq: carol[1] },
    ];
    expect(ticksOf(own, [])).toBe("sent");
    expect(ticksOf(own, receipts([5, 0], [4, 0]))).toBe("sent");
    expect(ticksOf(own, receipts([5, 0], [6, 0]))).toBe("delivered");
    expect(ticksOf(own, receipts([5, 5], [6, 0]))).toBe("delivered");
    expect(ticksOf(own, receipts([5, 5], [7, 7]))).toBe("read");
    // Reading implies delivery, even when the delivered watermark lags.
    expect(ticksOf(own, receipts([0, 5], [0, 5]))).toBe("read");
  });
});
