import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { mergeFanoutShares } from "./fanout-merge.js";
import { fanoutSchedule, generatorOf, messageIndex, messageKey, type FanoutShare } from "./fanout-protocol.js";
import { NEVER_MS } from "./loadgen-protocol.js";

const RUN = { label: "t", rate: 2, warmupMs: 1000, durationMs: 2000 };

/** A share of `sockets` sockets that got every window message, carrying `id:seq` = `m<k>:<k>`. */
function share(sockets: number, acks: Record<number, string | null>, latencyMs = 10): FanoutShare {
  const count = fanoutSchedule(RUN, 4).count;
  return {
    sockets,
    deliveries: new Array<number>(count).fill(sockets),
    carried: Array.from({ length: count }, (_, k) => ({ [`m${k}:${k}`]: sockets })),
    acks,
    deliveryLatencies: new Float64Array(count * sockets).fill(latencyMs),
    ackLatencies: new Float64Array(Object.values(acks).filter((a) => a !== null).length).fill(5),
    errors: {},
    duplicates: 0,
    outOfOrder: 0,
    deliveryMaxBySecond: [latencyMs, latencyMs],
    maxSendLagMs: 1,
  };
}

describe("fan-out schedule", () => {
  it("puts the messages due in the window in one run of indexes, each in its second", () => {
    const s = fanoutSchedule(RUN, 4);
    expect(s.total).toBe(6);
    expect([s.first, s.count]).toEqual([2, 4]);
    expect([2, 3, 4, 5].map(s.secondOf)).toEqual([0, 0, 1, 1]);
  });

  it("derives a valid UUID per message that maps back to its index, and only for its own run", () => {
    const runId = randomUUID();
    const key = messageKey(runId, 1234);
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(messageIndex(runId, key)).toBe(1234);
    expect(messageIndex(randomUUID(), key)).toBeUndefined();
  });

  it("gives every generator sockets on every server", () => {
    const held = Array.from({ length: 8 }, (_, u) => [u % 2, generatorOf(u, 2, 2)].join());
    expect(new Set(held)).toEqual(new Set(["0,0", "1,0", "0,1", "1,1"]));
  });
});

describe("mergeFanoutShares", () => {
  it("adds two complete shares up to one complete result", () => {
    const r = mergeFanoutShares(RUN, 4, [share(2, { 0: "m0:0", 2: "m2:2" }), share(2, { 1: "m1:1", 3: "m3:3" })]);
    expect(r.sockets).toBe(4);
    expect([r.scheduled, r.acked, r.deliveriesExpected, r.deliveriesReceived, r.missingRatio]).toEqual([4, 4, 16, 16, 0]);
    expect([r.duplicates, r.outOfOrder, r.mismatched]).toEqual([0, 0, 0]);
    expect(r.delivery.count).toBe(16);
    expect(r.delivery.p99).toBe(10);
    expect(r.deliveriesPerSecond).toBe(8);
  });

  it("counts what no generator got as missing and never, in the second it was due", () => {
    const a = share(2, { 0: "m0:0", 1: "m1:1" });
    const b = share(2, { 2: "m2:2", 3: "m3:3" });
    b.deliveries[3] = 1;
    b.carried[3] = { "m3:3": 1 };
    const r = mergeFanoutShares(RUN, 4, [a, b]);
    expect(r.deliveriesReceived).toBe(15);
    expect(r.missingRatio).toBeCloseTo(1 / 16);
    expect(r.delivery.max).toBe(NEVER_MS);
    expect(r.deliveryMaxBySecond).toEqual([10, NEVER_MS]);
  });

  it("compares every delivery with the ack the sender's generator got, and counts a message never acked", () => {
    const a = share(2, { 0: "m0:0", 1: null });
    const b = share(2, { 2: "m2:2", 3: "m3:3" });
    a.carried[2] = { "m2:2": 1, "other:9": 1 };
    const r = mergeFanoutShares(RUN, 4, [a, b]);
    expect(r.mismatched).toBe(1);
    expect(r.acked).toBe(3);
    expect(r.ack.max).toBe(NEVER_MS);
  });

  it("adds duplicates, reordering and errors up, and keeps the worst send lag", () => {
    const a = { ...share(2, {}), duplicates: 1, errors: { UNAVAILABLE: 2 }, maxSendLagMs: 7 };
    const b = { ...share(2, {}), outOfOrder: 3, errors: { UNAVAILABLE: 1, RATE_LIMITED: 1 } };
    const r = mergeFanoutShares(RUN, 4, [a, b]);
    expect([r.duplicates, r.outOfOrder, r.maxSendLagMs]).toEqual([1, 3, 7]);
    expect(r.errors).toEqual({ UNAVAILABLE: 3, RATE_LIMITED: 1 });
  });
});
