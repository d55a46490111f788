import { describe, expect, it } from "vitest";
import { coalesceWatermarks } from "./coalesce.js";

describe("coalesceWatermarks", () => {
  it("keeps the highest seq per (conversation, user), whatever the order", () => {
    const c = "018f0000-0000-7000-8000-000000000001";
    expect(
      coalesceWatermarks([
        { conversationId: c, userId: "bob", seq: 5 },
        { conversationId: c, userId: "bob", seq: 3 },
        { conversationId: c, userId: "a/b", seq: 1 },
        { conversationId: c, userId: "bob", seq: 9 },
      ]),
    ).toEqual([
      { conversationId: c, userId: "bob", seq: 9 },
      { conversationId: c, userId: "a/b", seq: 1 },
    ]);
  });
});
