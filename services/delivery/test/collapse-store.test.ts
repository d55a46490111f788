import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyspace } from "@parley/bus";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { testInfra, uniqueRedisPrefix } from "@parley/testkit/vitest";
import { CollapseStore, type LatestMessage } from "../src/notifications/collapse-store.js";

let redis: Redis;
let store: CollapseStore;
const keyspace = createKeyspace(uniqueRedisPrefix("collapse"));

beforeAll(async () => {
  redis = createRedis({ url: testInfra().redisUrl, name: "collapse-test", role: "producer" });
  await waitForReady(redis);
  store = new CollapseStore(redis, keyspace, { rearmAfterMs: 60_000, ttlSeconds: 3_600 });
});
afterAll(async () => {
  await redis?.quit();
});

const latest = (seq: number): LatestMessage => ({
  messageId: randomUUID(),
  seq,
  senderId: "alice",
  senderName: "Alice",
  kind: "text",
  preview: `m${seq}`,
  createdAt: new Date().toISOString(),
});

describe("collapse windows (real Redis)", () => {
  it("opens a window on the first message, folds the next ones in, and counts nothing twice when a hand-off runs again", async () => {
    const c = randomUUID();
    const add = (seqs: number[]) => store.addMany([{ conversationId: c, userId: "bob", seqs, latest: latest(Math.max(...seqs)) }]).then((r) => r[0]);
    expect(await add([3])).toEqual({ status: "opened", window: 3 });
    expect(await add([4, 5])).toEqual({ status: "collapsed", window: 3 });
    // The same hand-off again: nothing new is counted, and the open window is re-armed (its job may be lost).
    expect(await add([4, 5])).toEqual({ status: "rearm", window: 3 });
    const snapshot = await store.take(c, "bob", 3);
    expect(snapshot).toMatchObject({ count: 3, lastSeq: 5, latest: { seq: 5, preview: "m5" } });
    // A retry of the push job gets the same snapshot; a message arriving now opens a new window.
    expect(await store.take(c, "bob", 3)).toEqual(snapshot);
    expect(await add([6])).toEqual({ status: "opened", window: 6 });
    expect(await store.take(c, "bob", 6)).toMatchObject({ count: 1, lastSeq: 6 });
    await store.done(c, "bob", 3);
    // A stale job (its window already pushed and forgotten) finds nothing.
    expect(await store.take(c, "bob", 3)).toBeUndefined();
    expect(await store.take(c, "bob", 99)).toBeUndefined();
  });

  it("re-arms an open window whose job should long have run", async () => {
    const quick = new CollapseStore(redis, keyspace, { rearmAfterMs: 50, ttlSeconds: 3_600 });
    const c = randomUUID();
    expect((await quick.addMany([{ conversationId: c, userId: "bob", seqs: [1], latest: latest(1) }]))[0]).toEqual({ status: "opened", window: 1 });
    await new Promise((r) => setTimeout(r, 80));
    expect((await quick.addMany([{ conversationId: c, userId: "bob", seqs: [2], latest: latest(2) }]))[0]).toEqual({ status: "rearm", window: 1 });
  });

  it("keeps user ids with any character apart", async () => {
    const c = randomUUID();
    const results = await store.addMany(
      ["a:b", "a", "{x}", "ü 🎉"].map((userId) => ({ conversationId: c, userId, seqs: [1], latest: latest(1) })),
    );
    expect(results.map((r) => r.status)).toEqual(["opened", "opened", "opened", "opened"]);
  });
});
