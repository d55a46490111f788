import { describe, expect, it } from "vitest";
import { ReadGate } from "./read-gate.js";

describe("ReadGate", () => {
  it("stays closed until every hold is released, and tells listeners of each release", () => {
    const gate = new ReadGate();
    let releases = 0;
    gate.onRelease(() => releases++);
    expect(gate.open).toBe(true);
    const first = gate.hold();
    const second = gate.hold();
    expect(gate.open).toBe(false);
    first();
    first();
    expect(gate.open).toBe(false);
    expect(releases).toBe(1);
    second();
    expect(gate.open).toBe(true);
    expect(releases).toBe(2);
  });
});
