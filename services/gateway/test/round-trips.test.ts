import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testLogger } from "@parley/testkit";
import { createKeyspace, type Ack } from "@parley/bus";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { testInfra, uniqueRedisPrefix } from "@parley/testkit/vitest";
import { MembershipCache } from "../src/conversations/membership-cache.js";
import { MembershipInvalidation } from "../src/conversations/membership-invalidation.js";
import { AckListener } from "../src/send/ack-listener.js";
import { PendingAcks } from "../src/send/pending-acks.js";

// The gateway's two Redis round trips, each against real Redis: acks coming back from the
// persister, and membership changes going out to the other pods.

const logger = testLogger();
const connections: Redis[] = [];
const connect = async (name: string, role: "producer" | "subscriber") => {
  const redis = createRedis({ url: testInfra().redisUrl, name, role, logger });
  connections.push(redis);
  await waitForReady(redis);
  return redis;
};
let publisher: Redis;

beforeAll(async () => {
  publisher = await connect("round-trips:producer", "producer");
});
afterAll(async () => {
  await Promise.allSettled(connections.map((r) => r.quit()));
});

const until = async (check: () => boolean, timeoutMs = 2_000) => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("ack listener", () => {
  it("settles each readable ack of a batch, dropping unreadable entries and frames", async () => {
    const keyspace = createKeyspace(uniqueRedisPrefix("acks"));
    const channel = keyspace.ackChannel("pod-a");
    const pending = new PendingAcks(5_000);
    const listener = new AckListener({ subscriber: await connect("round-trips:acks", "subscriber"), channel, pending, logger });
    await listener.start();
    const [good, other] = [randomUUID(), randomUUID()];
    const answers = [pending.wait(good), pending.wait(other)];
    const refused: Ack = { itemId: good, outcome: { ok: false, error: { code: "CONFLICT", message: "taken" } } };

    await publisher.spublish(channel, "not json");
    await publisher.spublish(channel, JSON.stringify({ acks: [{ itemId: "not-an-id" }, refused] }));
    await expect(answers[0]).resolves.toEqual(refused.outcome);
    expect(pending.size).toBe(1);

    await publisher.spublish(channel, JSON.stringify({ acks: [{ ...refused, itemId: other }] }));
    await expect(answers[1]).resolves.toEqual(refused.outcome);
    await listener.close();
  });
});

describe("membership invalidation", () => {
  it("drops the answers cached on the changing pod at once and on the other pods when they hear it", async () => {
    const keyspace = createKeyspace(uniqueRedisPrefix("membership"));
    let role: "member" | undefined = "member";
    const pod = async (name: string) => {
      const cache = new MembershipCache(async () => role);
      const invalidation = new MembershipInvalidation({
        cache,
        publisher,
        subscriber: await connect(`round-trips:${name}`, "subscriber"),
        channel: keyspace.membershipChannel,
        logger,
        onChange: () => {},
        userCaches: { blocks: { invalidate: () => {}, clear: () => {} }, ban: { invalidate: () => {}, clear: () => {} } },
        onSafetyChange: () => {},
      });
      await invalidation.start();
      return { cache, invalidation };
    };
    // Real ids: the channel's schema (libs/bus) reads a conversation UUID and user ids.
    const [conversationId, userId] = [randomUUID(), "user-1"];
    const [a, b] = [await pod("a"), await pod("b")];
    await a.cache.role(conversationId, userId);
    await b.cache.role(conversationId, userId);
    expect(b.cache.cached(conversationId, userId)).toBe("member");

    role = undefined;
    await a.invalidation.publish(conversationId, [userId]);
    expect(a.cache.cached(conversationId, userId)).toBeUndefined();
    await until(() => b.cache.cached(conversationId, userId) === undefined);
    await expect(b.cache.role(conversationId, userId)).resolves.toBeUndefined();
    await Promise.all([a.invalidation.close(), b.invalidation.close()]);
  });
});
