import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKeyspace, readPersistBacklog } from "@parley/bus";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { testInfra, uniqueRedisPrefix } from "@parley/testkit/vitest";

// The signal admission control samples (libs/bus persist-backlog.ts), against a real stream
// and consumer group: what counts as waiting, what does not, and the stream's bytes.

let redis: Redis;
beforeAll(async () => {
  redis = createRedis({ url: testInfra().redisUrl, name: "persist-backlog-test", role: "producer" });
  await waitForReady(redis);
});
afterAll(() => redis?.disconnect());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("persist backlog", () => {
  it("is the age of the oldest unread entry, or of a live persister's oldest pending one; a stalled persister's entries are left out", async () => {
    const keyspace = createKeyspace(uniqueRedisPrefix("backlog"));
    const { stream, group } = keyspace.persist;
    expect(await readPersistBacklog(redis, keyspace.persist, 60_000)).toEqual({ ageMs: 0, bytes: 0 });

    // Before any persister made the group, every entry waits.
    const first = (await redis.xadd(stream, "*", "items", "a"))!;
    await sleep(150);
    const unread = await readPersistBacklog(redis, keyspace.persist, 60_000);
    expect(unread.ageMs).toBeGreaterThanOrEqual(140);
    expect(unread.bytes).toBeGreaterThan(0);

    // A persister reads it (pending, not yet committed): it still waits, and a newer unread entry does not hide it.
    await redis.xgroup("CREATE", stream, group, "0");
    await redis.xreadgroup("GROUP", group, "persister-a", "COUNT", 1, "STREAMS", stream, ">");
    await redis.xadd(stream, "*", "items", "b");
    const pending = await readPersistBacklog(redis, keyspace.persist, 60_000);
    expect(pending.ageMs).toBeGreaterThanOrEqual(140);

    // persister-a stops touching the stream: past the stalled bound its entry is the
    // reclaimer's, and only the newer unread entry counts.
    await sleep(300);
    const stalled = await readPersistBacklog(redis, keyspace.persist, 200);
    expect(stalled.ageMs).toBeGreaterThanOrEqual(290);
    expect(stalled.ageMs).toBeLessThan((await readPersistBacklog(redis, keyspace.persist, 60_000)).ageMs - 100);

    // Everything read and committed (acked): nothing waits.
    const read = (await redis.xreadgroup("GROUP", group, "persister-b", "COUNT", 10, "STREAMS", stream, ">")) as [string, [string, string[]][]][];
    await redis.xack(stream, group, first, ...read[0]![1].map(([id]) => id));
    expect((await readPersistBacklog(redis, keyspace.persist, 60_000)).ageMs).toBe(0);
    await redis.del(stream);
  });

  it("leaves out a persister's pending entries below its uncommitted mark (committed, waiting for the hand-off's XACK)", async () => {
    const keyspace = createKeyspace(uniqueRedisPrefix("backlog-mark"));
    const { stream, group, uncommitted } = keyspace.persist;
    await redis.xgroup("CREATE", stream, group, "0", "MKSTREAM");
    const committed = (await redis.xadd(stream, "*", "items", "a"))!;
    await redis.xreadgroup("GROUP", group, "persister-a", "COUNT", 1, "STREAMS", stream, ">");
    await sleep(150);
    // Read and pending; without a mark it counts.
    expect((await readPersistBacklog(redis, keyspace.persist, 60_000)).ageMs).toBeGreaterThanOrEqual(140);

    // The persister committed it and says its uncommitted entries start past it: nothing waits.
    await redis.hset(uncommitted, "persister-a", `(${committed}`);
    expect((await readPersistBacklog(redis, keyspace.persist, 60_000)).ageMs).toBe(0);

    // A newer entry read after the mark was published is above it and counts, from its own age.
    await sleep(300);
    await redis.xadd(stream, "*", "items", "b");
    await redis.xreadgroup("GROUP", group, "persister-a", "COUNT", 1, "STREAMS", stream, ">");
    await sleep(50);
    const newer = await readPersistBacklog(redis, keyspace.persist, 60_000);
    expect(newer.ageMs).toBeGreaterThanOrEqual(40);
    await redis.hdel(uncommitted, "persister-a");
    expect((await readPersistBacklog(redis, keyspace.persist, 60_000)).ageMs).toBeGreaterThanOrEqual(newer.ageMs + 250);

    // A mark that names an entry as the oldest uncommitted (inclusive) counts it.
    await redis.hset(uncommitted, "persister-a", committed);
    expect((await readPersistBacklog(redis, keyspace.persist, 60_000)).ageMs).toBeGreaterThanOrEqual(newer.ageMs + 250);
    await redis.del(stream, uncommitted);
  });

  it("measures the stream's bytes as it grows", async () => {
    const keyspace = createKeyspace(uniqueRedisPrefix("backlog-bytes"));
    await redis.xadd(keyspace.persist.stream, "*", "items", "x");
    const small = (await readPersistBacklog(redis, keyspace.persist, 60_000)).bytes;
    for (let i = 0; i < 50; i++) await redis.xadd(keyspace.persist.stream, "*", "items", "y".repeat(4_000));
    const big = (await readPersistBacklog(redis, keyspace.persist, 60_000)).bytes;
    expect(big).toBeGreaterThan(small + 150_000);
    await redis.del(keyspace.persist.stream);
  });
});
