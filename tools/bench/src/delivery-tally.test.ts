import { describe, expect, it } from "vitest";
import { DeliveryTally } from "./delivery-tally.js";

describe("DeliveryTally", () => {
  it("counts a message complete once every socket has it", () => {
    const tally = new DeliveryTally(3);
    tally.expect("m1");
    expect(tally.deliver("m1", 0, 0, 1)).toBe(true);
    expect(tally.deliver("m1", 2, 0, 1)).toBe(true);
    expect(tally.complete("m1")).toBe(false);
    expect(tally.deliver("m1", 1, 0, 1)).toBe(true);
    expect(tally.complete("m1")).toBe(true);
    expect(tally.duplicates + tally.outOfOrder).toBe(0);
  });

  it("names a second copy on the same socket a duplicate and does not count it", () => {
    const tally = new DeliveryTally(2);
    tally.expect("m1");
    tally.deliver("m1", 0, 0, 1);
    expect(tally.deliver("m1", 0, 0, 1)).toBe(false);
    expect(tally.count("m1")).toBe(1);
    expect(tally.duplicates).toBe(1);
    expect(tally.outOfOrder).toBe(0);
  });

  it("names a seq at or below the socket's last one in the same stream out of order", () => {
    const tally = new DeliveryTally(2);
    for (const key of ["a", "b", "c"]) tally.expect(key);
    tally.deliver("b", 0, 0, 2);
    tally.deliver("a", 0, 0, 1); // behind b on socket 0
    tally.deliver("a", 1, 0, 1); // socket 1 has its own order
    tally.deliver("b", 1, 0, 2);
    expect(tally.outOfOrder).toBe(1);
  });

  it("checks order per stream: two servers numbering on their own do not collide", () => {
    const tally = new DeliveryTally(1);
    for (const key of ["a1", "b1", "a2"]) tally.expect(key);
    tally.deliver("a1", 0, 0, 1);
    tally.deliver("b1", 0, 1, 1);
    tally.deliver("a2", 0, 0, 2);
    expect(tally.outOfOrder).toBe(0);
  });

  it("ignores messages it was not told to expect (another run's)", () => {
    const tally = new DeliveryTally(1);
    expect(tally.deliver("old", 0, 0, 5)).toBe(false);
    expect(tally.duplicates + tally.outOfOrder).toBe(0);
  });
});
