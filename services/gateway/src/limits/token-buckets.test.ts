import { describe, expect, it } from "vitest";
import { redisClusterSlot } from "@parley/bus";
import { groupBySlot, type BucketDemand } from "./token-buckets.js";

// The grouping only; the buckets themselves against a real Redis (one server and a Redis
// Cluster) are in test/rate-limits*.test.ts and tests/cluster topologies.test.ts.

const demand = (key: string): BucketDemand => ({ key, want: 1, capacity: 40, perSecond: 20 });

describe("groupBySlot", () => {
  it("puts each user's buckets in one group (their hash tag), users apart, in first-seen order", () => {
    const demands = [demand("parley:rl:send:{alice}"), demand("parley:rl:send:{bob}"), demand("parley:rl:read:{alice}"), demand("parley:rl:send:{carol}")];
    const groups = groupBySlot(demands);
    expect(groups).toEqual([[0, 2], [1], [3]]);
    for (const g of groups) expect(new Set(g.map((i) => redisClusterSlot(demands[i]!.key))).size).toBe(1);
  });

  it("keeps every position exactly once", () => {
    const demands = Array.from({ length: 50 }, (_, i) => demand(`parley:rl:send:{user-${i % 7}}`));
    expect(groupBySlot(demands).flat().sort((a, b) => a - b)).toEqual(demands.map((_, i) => i));
  });
});
