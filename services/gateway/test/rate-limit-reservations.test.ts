import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParleyError } from "@parley/protocol";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { startRedis, type ServerHandle } from "@parley/testkit";
import { testInfra, uniqueRedisPrefix } from "@parley/testkit/vitest";
import { createSendRateLimiter, ReservingRateLimiter } from "../src/send/rate-limiter.js";
import { createTokenBucket, type TokenBucket } from "../src/send/token-bucket.js";

// Several limiters against one Redis = several gateway pods sharing each user's bucket.

let redis: Redis;
const limiters: ReservingRateLimiter[] = [];

beforeAll(async () => {
  redis = createRedis({ url: testInfra().redisUrl, name: "rl-test", role: "producer" });
  await waitForReady(redis);
});
afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
  redis?.disconnect();
});

/** A bucket that counts its Redis calls. */
function countingBucket(inner: TokenBucket) {
  const calls = { reserve: 0, giveBack: 0 };
  const bucket: TokenBucket = {
    reserve: (userId, want, spent) => (calls.reserve++, inner.reserve(userId, want, spent)),
    giveBack: (userId, tokens, spent) => (calls.giveBack++, inner.giveBack(userId, tokens, spent)),
  };
  return { bucket, calls };
}

/** `pods` limiters on one bucket prefix, as `pods` gateways would have. */
function pods(n: number, opts: { perSecond: number; burst: number; idleMs?: number }) {
  const keyPrefix = `${uniqueRedisPrefix("rl")}send`;
  return Array.from({ length: n }, () => {
    const { bucket, calls } = countingBucket(createTokenBucket(redis, { keyPrefix, capacity: opts.burst, perSecond: opts.perSecond }));
    const limiter = new ReservingRateLimiter(bucket, { maxChunk: Math.max(1, Math.floor(opts.burst / 4)), idleMs: opts.idleMs });
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

describe("per-user rate limit, reserved per pod in chunks from a shared bucket", () => {
  it("a burst of 40 on one pod gets exactly 40 in a few Redis calls, then RATE_LIMITED with retryAfterMs, refused locally", async () => {
    const [pod] = pods(1, { perSecond: 20, burst: 40 });
    const user = randomUUID();
    const started = performance.now();
    const { accepted, refusals } = await attempts(Array.from({ length: 60 }, () => pod!.limiter.consume(user)));
    const refill = Math.floor(((performance.now() - started) / 1000) * 20);
    expect(accepted).toBeGreaterThanOrEqual(40);
    expect(accepted).toBeLessThanOrEqual(40 + refill);
    for (const refusal of refusals) {
      expect(refusal.code).toBe("RATE_LIMITED");
      expect(refusal.retryAfterMs).toBeGreaterThan(0);
      expect(refusal.retryAfterMs).toBeLessThanOrEqual(50);
    }
    // Concurrent sends share a call: one for the first, one for the rest, one that finds it empty.
    expect(pod!.calls.reserve).toBeLessThanOrEqual(4);

    // Still over: refused by the pod itself, without asking Redis.
    const calls = pod!.calls.reserve;
    expect(await outcome(pod!.limiter.consume(user))).toMatchObject({ code: "RATE_LIMITED" });
    expect(pod!.calls.reserve).toBe(calls);
    // Once the bucket holds a token again, the user sends again.
    await sleep(120);
    expect(await outcome(pod!.limiter.consume(user))).toBe("ok");
  });

  it("what a pod holds counts against the burst: a steady sender's chunk plus a refilled bucket is still at most 40 at once", async () => {
    const [a, b] = pods(2, { perSecond: 20, burst: 40 });
    const user = randomUUID();
    // Ten sends a second on each pod: both chunks grow to their maximum (10) and are held.
    for (let i = 0; i < 12; i++) {
      await a!.limiter.consume(user);
      await b!.limiter.consume(user);
      await sleep(100);
    }
    // Long enough for the bucket to refill completely, shorter than the idle give-back (3 s).
    await sleep(2_100);
    const burst = await attempts(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b)!.limiter.consume(user)));
    // Before the bucket counted held tokens: 40 from the bucket plus what each pod held (up to 60).
    expect(burst.accepted).toBeLessThanOrEqual(40);
    expect(burst.accepted).toBeGreaterThanOrEqual(30);
    expect(burst.refusals.every((r) => r.code === "RATE_LIMITED")).toBe(true);
  });

  it("a user on two pods gets no more than the bucket allows, and other users are untouched", async () => {
    const [a, b] = pods(2, { perSecond: 20, burst: 40 });
    const user = randomUUID();
    const started = performance.now();
    const runs = Array.from({ length: 80 }, (_, i) => (i % 2 ? a! : b!).limiter.consume(user));
    const { accepted, refusals } = await attempts(runs);
    const refill = Math.floor(((performance.now() - started) / 1000) * 20);
    expect(accepted).toBeGreaterThanOrEqual(40);
    expect(accepted).toBeLessThanOrEqual(40 + refill);
    expect(refusals.every((r) => r.code === "RATE_LIMITED" && r.retryAfterMs! > 0)).toBe(true);
    const bystander = await attempts(Array.from({ length: 10 }, (_, i) => (i % 2 ? a! : b!).limiter.consume(randomUUID())));
    expect(bystander.accepted).toBe(10);
  });

  it("a steady sender costs a Redis call per chunk, not per send", async () => {
    const [pod] = pods(1, { perSecond: 20, burst: 40 });
    const user = randomUUID();
    for (let i = 0; i < 40; i++) {
      expect(await outcome(pod!.limiter.consume(user))).toBe("ok");
      await sleep(10);
    }
    // 1, then chunks of 10 (a quarter of the burst): 5 calls for 40 sends.
    expect(pod!.calls.reserve).toBeLessThanOrEqual(6);
  });

  it("tokens a pod reserved and did not spend go back to the bucket once the user is idle there", async () => {
    // A slow refill (1/s) so that what comes back is not mistaken for refill.
    const [a, b] = pods(2, { perSecond: 1, burst: 40, idleMs: 200 });
    const user = randomUUID();
    for (let i = 0; i < 3; i++) {
      expect(await outcome(a!.limiter.consume(user))).toBe("ok");
      await sleep(5);
    }
    // Pod a reserved 1 + 10 and spent 3: it holds 8, the bucket 29.
    const first = await attempts(Array.from({ length: 40 }, () => b!.limiter.consume(user)));
    expect(first.accepted).toBeGreaterThanOrEqual(29);
    expect(first.accepted).toBeLessThanOrEqual(31);
    expect(first.refusals[0]).toMatchObject({ code: "RATE_LIMITED" });

    // Idle on pod a: its 8 go back, and the user, now on pod b, gets them.
    await sleep(600);
    expect(a!.calls.giveBack).toBe(1);
    expect(a!.limiter.size).toBe(0);
    const second = await attempts(Array.from({ length: 20 }, () => b!.limiter.consume(user)));
    expect(second.accepted).toBeGreaterThanOrEqual(8);
    expect(second.accepted).toBeLessThanOrEqual(10);
  });

  it("release() (the user's socket left the pod) gives back at once what the pod holds for the user", async () => {
    const [a, b] = pods(2, { perSecond: 1, burst: 40 });
    const user = randomUUID();
    await a!.limiter.consume(user);
    await sleep(5);
    await a!.limiter.consume(user); // reserves a chunk of 10, spends 1
    a!.limiter.release(user);
    expect(a!.limiter.size).toBe(0);
    await sleep(50); // the give-back is on its way
    const after = await attempts(Array.from({ length: 45 }, () => b!.limiter.consume(user)));
    expect(after.accepted).toBeGreaterThanOrEqual(38);
    expect(after.accepted).toBeLessThanOrEqual(39);
  });

  it("a user sending less often than every half horizon costs a call per send and holds nothing", async () => {
    const keyPrefix = `${uniqueRedisPrefix("rl")}send`;
    const { bucket, calls } = countingBucket(createTokenBucket(redis, { keyPrefix, capacity: 40, perSecond: 20 }));
    const limiter = new ReservingRateLimiter(bucket, { maxChunk: 10, chunkHorizonMs: 100, idleMs: 5_000 });
    limiters.push(limiter);
    const user = randomUUID();
    for (let i = 0; i < 4; i++) {
      await limiter.consume(user);
      await sleep(80);
    }
    expect(calls.reserve).toBe(4);
    await limiter.close();
    expect(calls.giveBack).toBe(0);
  });

  it("close() gives back what the pod holds", async () => {
    const [a, b] = pods(2, { perSecond: 1, burst: 40 });
    const user = randomUUID();
    await a!.limiter.consume(user);
    await sleep(5);
    await a!.limiter.consume(user); // reserves a chunk of 10, spends 1
    await a!.limiter.close();
    const after = await attempts(Array.from({ length: 45 }, () => b!.limiter.consume(user)));
    expect(after.accepted).toBeGreaterThanOrEqual(38);
    expect(after.accepted).toBeLessThanOrEqual(39);
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
    const limiter = createSendRateLimiter(ownRedis, { perSecond: 20, burst: 40, keyPrefix: `${uniqueRedisPrefix("rl")}send` });
    limiters.push(limiter);
    expect(await outcome(limiter.consume("before"))).toBe("ok");
    await own.stop();
    const started = performance.now();
    const answers = await attempts(Array.from({ length: 5 }, () => limiter.consume(randomUUID())));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(answers.accepted).toBe(0);
    expect(answers.refusals.every((r) => r.code === "UNAVAILABLE")).toBe(true);

    await own.start();
    const until = Date.now() + 20_000;
    for (;;) {
      const answer = await outcome(limiter.consume(randomUUID()));
      if (answer === "ok") break;
      expect(answer.code).toBe("UNAVAILABLE");
      if (Date.now() > until) throw new Error("still unavailable 20 s after Redis came back");
      await sleep(200);
    }
  }, 40_000);
});
