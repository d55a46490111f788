import { describe, expect, it } from "vitest";
import { UserStateCache } from "./user-state-cache.js";

describe("UserStateCache", () => {
  it("answers from the cache until invalidated or expired", async () => {
    let value = 1;
    let lookups = 0;
    const cache = new UserStateCache(async () => (lookups++, value), 60_000);
    expect(await cache.get("ann")).toBe(1);
    value = 2;
    expect(await cache.get("ann")).toBe(1);
    expect(cache.cached("ann")).toEqual({ value: 1 });
    cache.invalidate(["ann"]);
    expect(cache.cached("ann")).toBeUndefined();
    expect(await cache.get("ann")).toBe(2);
    expect(lookups).toBe(2);

    const short = new UserStateCache(async () => value, 1);
    await short.get("bob");
    await new Promise((r) => setTimeout(r, 5));
    expect(short.cached("bob")).toBeUndefined();
  });

  it("does not cache a look-up that an invalidation overtook (its answer may predate the change)", async () => {
    let release!: () => void;
    const cache = new UserStateCache(() => new Promise<string>((resolve) => (release = () => resolve("before"))), 60_000);
    const reading = cache.get("ann");
    cache.invalidate(["ann"]);
    release();
    expect(await reading).toBe("before");
    expect(cache.cached("ann")).toBeUndefined();
  });

  it("stays within its bound, dropping the oldest entries", async () => {
    const cache = new UserStateCache(async (id) => id, 60_000, 10);
    for (let i = 0; i < 25; i++) await cache.get(`u${i}`);
    expect(cache.cached("u0")).toBeUndefined();
    expect(cache.cached("u24")).toEqual({ value: "u24" });
    cache.clear();
    expect(cache.cached("u24")).toBeUndefined();
  });
});
