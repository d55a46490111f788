import { describe, expect, it } from "vitest";
import { MembershipCache } from "./membership-cache.js";

describe("membership cache", () => {
  it("asks once, then answers from memory until invalidated", async () => {
    let calls = 0;
    let role: "member" | undefined = "member";
    const cache = new MembershipCache(async () => {
      calls++;
      return role;
    });
    expect(await cache.role("c", "u")).toBe("member");
    expect(await cache.role("c", "u")).toBe("member");
    expect(calls).toBe(1);
    role = undefined;
    cache.invalidate("c", ["u"]);
    expect(await cache.role("c", "u")).toBeUndefined();
    expect(await cache.role("c", "u")).toBeUndefined();
    expect(calls).toBe(2);
  });

  it("answers from memory without waiting once cached: a role, null for a non-member, undefined when unknown", async () => {
    const cache = new MembershipCache(async (_c, u) => (u === "member" ? "member" : undefined));
    expect(cache.cached("c", "member")).toBeUndefined();
    await cache.role("c", "member");
    await cache.role("c", "outsider");
    expect(cache.cached("c", "member")).toBe("member");
    expect(cache.cached("c", "outsider")).toBeNull();
    cache.invalidate("c", ["member"]);
    expect(cache.cached("c", "member")).toBeUndefined();
  });

  it("expires answers after the TTL and stays bounded", async () => {
    let calls = 0;
    const cache = new MembershipCache(async () => (calls++, "admin" as const), 0, 10);
    await cache.role("c", "u");
    await cache.role("c", "u");
    expect(calls).toBe(2);
    for (let i = 0; i < 100; i++) await cache.role("c", `u${i}`);
    expect((cache as unknown as { entries: Map<string, unknown> }).entries.size).toBeLessThanOrEqual(10);
  });
});
