import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParleyError } from "@parley/protocol";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { startRedis, type ServerHandle } from "@parley/testkit";
import { testInfra, uniqueRedisPrefix } from "@parley/testkit/vitest";
import { LIMIT_CLASSES, type LimitClass } from "../src/limits/limit-classes.js";
import { RateLimiter, type Budget } from "../src/limits/rate-limiter.js";
import { createTokenBuckets, type TakeTokens } from "../src/limits/token-buckets.js";

// Several limiters against one Redis = several gateway pods sharing each user's buckets.

let redis: Redis;
const limiters: RateLimiter[] = [];

beforeAll(async () => {
  redis = createRedis({ url: testInfra().redisUrl, name: "rl-test", role: "producer" });
  await waitForReady(redis);
});
afterAll(async () => {
  for (const l of limiters) l.close();
  redis?.disconnect();
});

const budgets = (send: Budget): Record<LimitClass, Budget> =>
  Object.fromEntries(LIMIT_CLASSES.map((c) => [c, c === "send" ? send : { perSecond: 5, burst: 10 }])) as Record<LimitClass, Budget>;

/** Buckets that count their Redis calls and the buckets those carried. */
function counting(inner: TakeTokens) {
  const calls = { calls: 0, buckets: 0 };
  const take: TakeTokens = (demands) => {
    calls.calls++;
    calls.buckets += demands.length;
    return inner(demands);
  };
  return { take, calls };
}

/** `n` limiters on one key prefix, as `n` gateways would have. */
function pods(n: number, send: Budget = { perSecond: 20, burst: 40 }, r: Redis = redis) {
  const keyPrefix = uniqueRedisPrefix("rl") + "rl";
  return Array.from({ length: n }, () => {
    const { take, calls } = counting(createTokenBuckets(r));
    const limiter = new RateLimiter(take, { keyPrefix, budgets: budgets(send), timeoutMs: 1_500 });
    limiters.push(limiter);
    return { limiter, calls };
  });
}

async function outcome(attempt: Promise<void>): Promise<"ok" | ParleyError> {
  try {
    await attempt;
    return "ok";
  } catch (err) {
    if (err instanceof ParleyError) return err;
    throw err;
  }
}

async function attempts(runs: Promise<void>[]) {
  const answers = await Promise.all(runs.map(outcome));
  const refusals = answers.filter((a): a is ParleyError => a !== "ok");
  return { accepted: answers.length - refusals.length, refusals };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("per-user limits: token buckets in Redis, every attempt of an event-loop turn in one call", () => {
  it("a burst of 40 gets exactly 40 (plus the refill meanwhile) in one Redis call, then RATE_LIMITED with retryAfterMs, refused locally", async () => {
    const [pod] = pods(1);
    const user = randomUUID();
    const started = performance.now();
    const { accepted, refusals } = await attempts(Array.from({ length: 60 }, () => pod!.limiter.consume("send", user)));
    const refill = Math.floor(((performance.now() - started) / 1000) * 20);
    expect(accepted).toBeGreaterThanOrEqual(40);
    expect(accepted).toBeLessThanOrEqual(40 + refill);
    for (const refusal of refusals) {
      expect(refusal.code).toBe("RATE_LIMITED");
      expect(refusal.retryAfterMs).toBeGreaterThan(0);
      expect(refusal.retryAfterMs).toBeLessThanOrEqual(50);
    }
    expect(pod!.calls.calls).toBe(1);

    // Still empty: refused by the pod itself, without asking Redis.
    expect(await outcome(pod!.limiter.consume("send", user))).toMatchObject({ code: "RATE_LIMITED" });
    expect(pod!.calls.calls).toBe(1);
    // Once the bucket holds a token again, the user sends again.
    await sleep(120);
    expect(await outcome(pod!.limiter.consume("send", user))).toBe("ok");
  });

  it("30 at once, 1.6 s apart, three times, over two pods: every one accepted (the contract's burst of 40 refilled at 20/s)", async () => {
    const [a, b] = pods(2);
    const user = randomUUID();
    for (let round = 0; round < 3; round++) {
      if (round > 0) await sleep(1_600);
      const { accepted, refusals } = await attempts(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b)!.limiter.consume("send", user)));
      expect({ round, accepted, refused: refusals.length }).toEqual({ round, accepted: 30, refused: 0 });
    }
  });

  it("a user on two pods never gets more than the burst at once, however their attempts were spread before", async () => {
    const [a, b] = pods(2);
    const user = randomUUID();
    // Ten sends a second on each pod for a while (a reserving limiter held chunks here).
    for (let i = 0; i < 12; i++) {
      await a!.limiter.consume("send", user);
      await b!.limiter.consume("send", user);
      await sleep(100);
    }
    await sleep(2_100); // the bucket refills completely
    const started = performance.now();
    const burst = await attempts(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b)!.limiter.consume("send", user)));
    const refill = Math.floor(((performance.now() - started) / 1000) * 20);
    expect(burst.accepted).toBeGreaterThanOrEqual(40);
    expect(burst.accepted).toBeLessThanOrEqual(40 + refill);
    expect(burst.refusals.every((r) => r.code === "RATE_LIMITED")).toBe(true);
  });

  it("other users and other classes are untouched, and one call carries every user and class of a turn", async () => {
    const [a, b] = pods(2);
    const flooder = randomUUID();
    await attempts(Array.from({ length: 80 }, (_, i) => (i % 2 ? a! : b!).limiter.consume("send", flooder)));
    const before = a!.calls.calls;
    const bystanders = Array.from({ length: 10 }, () => randomUUID());
    const others = await attempts([
      ...bystanders.map((u) => a!.limiter.consume("send", u)),
      ...bystanders.map((u) => a!.limiter.consume("typing", u)),
      a!.limiter.consume("reads", flooder),
    ]);
    expect(others.accepted).toBe(21);
    expect(a!.calls.calls - before).toBe(1);
  });

  it("each class has its own budget", async () => {
    const [pod] = pods(1);
    const user = randomUUID();
    const started = performance.now();
    const typing = await attempts(Array.from({ length: 15 }, () => pod!.limiter.consume("typing", user)));
    expect(typing.accepted).toBeGreaterThanOrEqual(10);
    expect(typing.accepted).toBeLessThanOrEqual(10 + Math.floor(((performance.now() - started) / 1000) * 5));
    expect(typing.refusals[0]?.message).toMatch(/typing/);
    const sends = await attempts(Array.from({ length: 15 }, () => pod!.limiter.consume("send", user)));
    expect(sends.accepted).toBe(15);
  });
});

describe("when Redis is away", () => {
  let own: ServerHandle;
  let ownRedis: Redis;
  beforeAll(async () => {
    own = await startRedis();
    ownRedis = createRedis({ url: own.url, name: "rl-outage", role: "producer" });
    await waitForReady(ownRedis);
  }, 30_000);
  afterAll(async () => {
    ownRedis?.disconnect();
    await own?.close();
  });

  it("answers UNAVAILABLE within 2 s, then recovers by itself", async () => {
    const [pod] = pods(1, { perSecond: 20, burst: 40 }, ownRedis);
    const limiter = pod!.limiter;
    expect(await outcome(limiter.consume("send", "before"))).toBe("ok");
    await own.stop();
    const started = performance.now();
    const answers = await attempts(Array.from({ length: 5 }, () => limiter.consume("send", randomUUID())));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(answers.accepted).toBe(0);
    expect(answers.refusals.every((r) => r.code === "UNAVAILABLE")).toBe(true);

    await own.start();
    const until = Date.now() + 20_000;
    for (;;) {
      const answer = await outcome(limiter.consume("send", randomUUID()));
      if (answer === "ok") break;
      expect(answer.code).toBe("UNAVAILABLE");
      if (Date.now() > until) throw new Error("still unavailable 20 s after Redis came back");
      await sleep(200);
    }
  }, 40_000);

  it("a call Redis does not answer fails its attempts UNAVAILABLE after the limiter's time-out", async () => {
    const hung: TakeTokens = () => new Promise(() => {});
    const limiter = new RateLimiter(hung, { keyPrefix: "rl-hung", budgets: budgets({ perSecond: 20, burst: 40 }), timeoutMs: 200 });
    limiters.push(limiter);
    const started = performance.now();
    const answer = await outcome(limiter.consume("send", "someone"));
    expect(answer).toMatchObject({ code: "UNAVAILABLE" });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
