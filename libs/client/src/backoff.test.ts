import { describe, expect, it } from "vitest";
import { fullJitterDelay } from "./backoff.js";

describe("fullJitterDelay", () => {
  const options = { baseMs: 500, maxMs: 30_000 };

  it("draws from [0, base·2^attempt), capped at max", () => {
    expect(fullJitterDelay(0, options, () => 0)).toBe(0);
    expect(fullJitterDelay(0, options, () => 0.999)).toBe(499);
    expect(fullJitterDelay(3, options, () => 0.5)).toBe(2_000);
    expect(fullJitterDelay(10, options, () => 0.999)).toBe(29_970);
    expect(fullJitterDelay(1_000, options, () => 0.5)).toBe(15_000); // no overflow for huge attempts
  });

  it("spreads clients over the whole window (full jitter, not a fixed delay)", () => {
    const delays = Array.from({ length: 2_000 }, () => fullJitterDelay(4, options));
    expect(Math.min(...delays)).toBeLessThan(800);
    expect(Math.max(...delays)).toBeGreaterThan(7_200);
    expect(delays.every((d) => d >= 0 && d < 8_000)).toBe(true);
  });
});
