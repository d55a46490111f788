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

  // Issue 12: a look-up that read the old membership, answered after the change's invalidation
  // arrived, must not be cached (a removed member would be let in until the TTL).
  it("does not cache an answer whose look-up was under way when an invalidation arrived", async () => {
    let answer: (role: "member" | undefined) => void = () => {};
    let calls = 0;
    const cache = new MembershipCache(
      () =>
        new Promise<"member" | undefined>((resolve) => {
          calls++;
          answer = resolve;
        }),
    );
    const first = cache.role("c", "u");
    // The member is removed: the invalidation arrives while the first look-up is under way,
    // and the look-up's answer (read before the removal) arrives after it.
    cache.invalidate("c", ["u"]);
    answer("member");
    expect(await first).toBe("member");
    expect(cache.cached("c", "u")).toBeUndefined();
    const second = cache.role("c", "u");
    expect(calls).toBe(2);
    answer(undefined);
    expect(await second).toBeUndefined();
    expect(cache.cached("c", "u")).toBeNull();
  });

  it("keeps the answer of the newest of two concurrent look-ups of one key", async () => {
    const answers: ((role: "member" | "admin") => void)[] = [];
    const cache = new MembershipCache(() => new Promise((resolve) => answers.push(resolve)));
    const older = cache.role("c", "u");
    const newer = cache.role("c", "u");
    answers[1]!("admin");
    await newer;
    answers[0]!("member");
    await older;
    expect(cache.cached("c", "u")).toBe("admin");
  });
});
