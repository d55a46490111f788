import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyspace } from "@parley/bus";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { testInfra, uniqueRedisPrefix } from "@parley/testkit/vitest";
import { CollapseStore } from "../src/notifications/collapse-store.js";

let redis: Redis;
let store: CollapseStore;
const keyspace = createKeyspace(uniqueRedisPrefix("collapse"));

beforeAll(async () => {
  redis = createRedis({ url: testInfra().redisUrl, name: "collapse-test", role: "producer" });
  await waitForReady(redis);
  store = new CollapseStore(redis, keyspace, { rearmAfterMs: 60_000, ttlSeconds: 3_600, seenHorizonMs: 60_000 });
});
afterAll(async () => {
  await redis?.quit();
});

const adder = (s: CollapseStore, c: string, userId = "bob") => (seqs: number[]) => s.addMany([{ conversationId: c, userId, seqs }]).then((r) => r[0]);
const sorted = (seqs: number[] | undefined) => [...(seqs ?? [])].sort((a, b) => a - b);

describe("collapse windows (real Redis)", () => {
  it("opens a window on the first message, folds the next ones in, and counts nothing twice when a hand-off runs again", async () => {
    const c = randomUUID();
    const add = adder(store, c);
    expect(await add([3])).toEqual({ status: "opened", window: 3 });
    expect(await add([4, 5])).toEqual({ status: "collapsed", window: 3 });
    // The same hand-off again: nothing new is counted, and the open window is re-armed (its job may be lost).
    expect(await add([4, 5])).toEqual({ status: "rearm", window: 3 });
    const snapshot = await store.take(c, "bob", 3);
    expect(snapshot).toEqual({ seqs: [3, 4, 5] });
    // A retry of the push job gets the same snapshot; a message arriving now opens a new window.
    expect(await store.take(c, "bob", 3)).toEqual(snapshot);
    expect(await add([6])).toEqual({ status: "opened", window: 6 });
    // A re-run of an old hand-off after its window was pushed counts nothing either.
    expect(await add([4, 5])).toEqual({ status: "rearm", window: 6 });
    expect(await store.take(c, "bob", 6)).toEqual({ seqs: [6] });
    await store.done(c, "bob", 3);
    // A stale job (its window already pushed and forgotten) finds nothing.
    expect(await store.take(c, "bob", 3)).toBeUndefined();
    expect(await store.take(c, "bob", 99)).toBeUndefined();
  });

  it("counts batches applied out of order, and one applied twice, exactly", async () => {
    const c = randomUUID();
    const add = adder(store, c);
    // Batch [3, 4] committed after [1, 2] but handed off first (another replica, or concurrency).
    expect(await add([3, 4])).toEqual({ status: "opened", window: 3 });
    expect(await add([1, 2])).toEqual({ status: "collapsed", window: 3 });
    expect(await add([3, 4])).toEqual({ status: "rearm", window: 3 });
    expect(await add([1, 2])).toEqual({ status: "rearm", window: 3 });
    expect(sorted((await store.take(c, "bob", 3))?.seqs)).toEqual([1, 2, 3, 4]);
    // Overtaken by a window that was pushed already: it opens the next window, it is not lost.
    expect(await add([6])).toEqual({ status: "opened", window: 6 });
    await store.take(c, "bob", 6);
    expect(await add([5])).toEqual({ status: "opened", window: 5 });
    expect(await store.take(c, "bob", 5)).toEqual({ seqs: [5] });
  });

  it("counts exactly when many batches of one conversation land at once, in any order, some twice", async () => {
    const c = randomUUID();
    const batches = Array.from({ length: 40 }, (_, i) => [3 * i + 1, 3 * i + 2, 3 * i + 3]);
    const shuffled = [...batches, ...batches.slice(0, 15)].sort(() => Math.random() - 0.5);
    // Separate connections, as separate delivery replicas would use.
    const connections = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const r = createRedis({ url: testInfra().redisUrl, name: `collapse-test-${i}`, role: "producer" });
        await waitForReady(r);
        return r;
      }),
    );
    try {
      const stores = connections.map((r) => new CollapseStore(r, keyspace, { rearmAfterMs: 60_000, ttlSeconds: 3_600, seenHorizonMs: 60_000 }));
      const results = await Promise.all(shuffled.map((seqs, i) => adder(stores[i % stores.length]!, c)(seqs)));
      const opened = results.filter((r) => r?.status === "opened");
      expect(opened).toHaveLength(1);
      expect(sorted((await store.take(c, "bob", opened[0]!.window))?.seqs)).toEqual(batches.flat());
    } finally {
      await Promise.all(connections.map((r) => r.quit()));
    }
  });

  it("keeps only recent seqs one by one; older ones fall under the floor and still count as seen", async () => {
    const quick = new CollapseStore(redis, keyspace, { rearmAfterMs: 60_000, ttlSeconds: 3_600, seenHorizonMs: 50 });
    const c = randomUUID();
    const add = adder(quick, c);
    expect(await add([1, 2])).toEqual({ status: "opened", window: 1 });
    await new Promise((r) => setTimeout(r, 80));
    expect(await add([3])).toEqual({ status: "collapsed", window: 1 });
    expect(await redis.zrange(keyspace.notify.seen(c, "bob"), 0, -1)).toEqual(["3"]);
    expect(await redis.hget(keyspace.notify.pending(c, "bob"), "floor")).toBe("2");
    // A re-run of the first batch, after its seqs left the set: counted before, not again.
    expect(await add([1, 2])).toEqual({ status: "rearm", window: 1 });
    expect(await quick.take(c, "bob", 1)).toEqual({ seqs: [1, 2, 3] });
  });

  it("holds no message text, and both keys of a pair expire", async () => {
    const c = randomUUID();
    await adder(store, c)([1]);
    const pending = keyspace.notify.pending(c, "bob");
    expect(Object.keys(await redis.hgetall(pending)).sort()).toEqual(["armedAt", "count", "seqs", "window"]);
    expect(await redis.ttl(pending)).toBeGreaterThan(0);
    expect(await redis.ttl(keyspace.notify.seen(c, "bob"))).toBeGreaterThan(0);
  });

  it("re-arms an open window whose job should long have run", async () => {
    const quick = new CollapseStore(redis, keyspace, { rearmAfterMs: 50, ttlSeconds: 3_600, seenHorizonMs: 60_000 });
    const c = randomUUID();
    expect(await adder(quick, c)([1])).toEqual({ status: "opened", window: 1 });
    await new Promise((r) => setTimeout(r, 80));
    expect(await adder(quick, c)([2])).toEqual({ status: "rearm", window: 1 });
  });

  it("keeps user ids with any character apart", async () => {
    const c = randomUUID();
    const users = ["a:b", "a", "{x}", "a}b", "ü 🎉"];
    const results = await store.addMany(users.map((userId) => ({ conversationId: c, userId, seqs: [1] })));
    expect(results.map((r) => r.status)).toEqual(users.map(() => "opened"));
    for (const userId of users) expect(await store.take(c, userId, 1)).toEqual({ seqs: [1] });
  });
});
