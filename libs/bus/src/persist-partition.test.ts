import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { defaultPersistPartitions, persistPartitionOf } from "./persist-partition.js";

describe("persistPartitionOf", () => {
  it("is stable: the same conversation always lands in the same partition (fixed values, so a release cannot move them)", () => {
    const of = (id: string) => [2, 3, 8, 64].map((n) => persistPartitionOf(id, n));
    expect(of("018f3a2e-7c41-7a9b-8c3d-2e4f5a6b7c8d")).toEqual([0, 0, 0, 24]);
    expect(of("0193a0b1-0000-7000-8000-000000000001")).toEqual([1, 2, 3, 3]);
    expect(of("c0ffee00-1111-4222-8333-444455556666")).toEqual([1, 0, 5, 61]);
  });

  it("puts everything in partition 0 when there is one", () => {
    expect(persistPartitionOf(randomUUID(), 1)).toBe(0);
  });

  it("spreads time-ordered ids (UUIDv7 share their leading digits) evenly: 8,000 ids over 8 partitions, each within 15 % of 1,000", () => {
    const counts = new Array<number>(8).fill(0);
    const prefix = "0193a0b1-";
    for (let i = 0; i < 8_000; i++) {
      const tail = randomUUID().slice(9);
      counts[persistPartitionOf(prefix + tail, 8)]!++;
    }
    for (const c of counts) expect(Math.abs(c - 1_000)).toBeLessThan(150);
  });

  it("defaults to 1 partition on one primary and 8 on a Redis Cluster", () => {
    expect(defaultPersistPartitions("single")).toBe(1);
    expect(defaultPersistPartitions("sentinel")).toBe(1);
    expect(defaultPersistPartitions("cluster")).toBe(8);
  });
});
