import { describe, expect, it } from "vitest";
import { isRetryable, ParleyRequestError } from "./request-error.js";

describe("isRetryable", () => {
  it("answers yes for refusals a later retry can get past, no for answers on the request itself", () => {
    for (const code of ["UNAVAILABLE", "RATE_LIMITED", "INTERNAL", "UNAUTHORIZED"] as const) {
      expect(isRetryable({ code, message: "x" })).toBe(true);
      expect(isRetryable(new ParleyRequestError({ code, message: "x" }))).toBe(true);
    }
    for (const code of ["VALIDATION", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "PAYLOAD_TOO_LARGE", "REJECTED"]) {
      expect(isRetryable({ code, message: "x" })).toBe(false);
    }
    expect(isRetryable(new TypeError("boom"))).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
    expect(isRetryable(null)).toBe(false);
  });
});
