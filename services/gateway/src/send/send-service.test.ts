import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { ParleyError } from "@parley/protocol";
import { createGatewayMetrics } from "../metrics.js";
import { MembershipCache } from "../conversations/membership-cache.js";
import { PendingAcks } from "./pending-acks.js";
import { DbGuard } from "../guard-db.js";
import { SendService } from "./send-service.js";

// The deadline logic only: every step is a stand-in that is slow on purpose. Redis (the persist
// stream) and Postgres are exercised for real by tests/cluster (outages.test.ts, message-path.test.ts).
const slow = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

function service(steps: { rateLimitMs: number; membershipMs: number }, deadlineMs: number) {
  const pending = new PendingAcks(10_000);
  const metrics = createGatewayMetrics(new Registry());
  return new SendService({
    admission: { check: () => {} },
    rateLimiter: { consume: () => slow(steps.rateLimitMs, undefined) },
    membership: new MembershipCache(() => slow(steps.membershipMs, "member" as const)),
    // Never answered: the commit is what the deadline has to cut short.
    buffer: { push: () => {}, partitionOf: () => 0 },
    pending,
    metrics,
    bodyMaxChars: 4_000,
    dbGuard: new DbGuard({ timeoutMs: 1_500, maxActive: 10, maxWaiting: 100, metrics }),
    deadlineMs,
    blocks: { refuseBlockedDirectSend: async () => {} },
    onServiceSend: () => {},
  });
}

const input = {
  conversationId: "0190f0c8-0000-7000-8000-000000000002",
  clientMessageId: "0190f0c8-0000-7000-8000-000000000003",
  body: "hi",
};

describe("send deadline", () => {
  it("answers UNAVAILABLE once the whole budget is spent, however it was spent", async () => {
    const started = performance.now();
    const err = await service({ rateLimitMs: 120, membershipMs: 120 }, 300)
      .send({ userId: "alice", name: "Alice", role: "user" }, input)
      .catch((e: unknown) => e);
    const took = performance.now() - started;
    expect(err).toBeInstanceOf(ParleyError);
    expect((err as ParleyError).code).toBe("UNAVAILABLE");
    // Steps of 120 + 120 + an unanswered commit: one 300 ms budget, not three bounds added up.
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1_000);
  });

  // The rate limiter bounds its own Redis call (limits/rate-limiter.ts, tested in test/rate-limits.test.ts).
  it("cuts a step that alone outlasts the budget", async () => {
    const err = await service({ rateLimitMs: 0, membershipMs: 5_000 }, 200)
      .send({ userId: "alice", name: "Alice", role: "user" }, input)
      .catch((e: unknown) => e);
    expect((err as ParleyError).code).toBe("UNAVAILABLE");
  });
});
