import { describe, expect, it } from "vitest";
import { isWellFormed } from "./well-formed.js";

describe("isWellFormed", () => {
  const cases: [string, boolean][] = [
    ["plain", true],
    ["emoji 👍🏽 and 🇫🇷", true],
    ["", true],
    ["cut \uD83D", false],
    ["\uDC4D lone low", false],
    ["reversed \uDC4D\uD83D", false],
  ];

  it("agrees with String.prototype.isWellFormed", () => {
    for (const [s, expected] of cases) expect([s, isWellFormed(s)]).toEqual([s, expected]);
  });

  it("gives the same answers where the runtime lacks the method (React Native, older browsers)", () => {
    const native = Object.getOwnPropertyDescriptor(String.prototype, "isWellFormed")!;
    delete (String.prototype as { isWellFormed?: unknown }).isWellFormed;
    try {
      expect("x".isWellFormed).toBeUndefined();
      for (const [s, expected] of cases) expect([s, isWellFormed(s)]).toEqual([s, expected]);
    } finally {
      Object.defineProperty(String.prototype, "isWellFormed", native);
    }
  });
});
