import { expect, it } from "vitest";
import { runScenario, sleep } from "@parley/testkit/faults";
import { testInfra } from "@parley/testkit/vitest";

// Scenario 2: Redis restarted under load. With append-only persistence (fsync every second)
// it comes back with its streams and queues, less at most the last second; without it, it
// comes back empty. Either way acks mean "committed in Postgres", so what a client saw acked
// is stored once, and what Redis lost unacked is resent by the SDK's outbox.
for (const persist of [true, false]) {
  it(`Redis restarted ${persist ? "with AOF on" : "empty (persistence off)"} under load: nothing acked lost or doubled, clients whole, no service restart`, async () => {
    const verdict = await runScenario(
      `2 Redis restarted ${persist ? "with AOF" : "empty"}`,
      testInfra().databaseUrl,
      { cluster: { redis: { persist } }, recoveryBoundMs: 15_000, afterMs: 5_000 },
      async ({ cluster }) => {
        await cluster.redis.stop();
        await sleep(1_000);
        await cluster.redis.start();
      },
    );
    expect(verdict.violations).toEqual([]);
  });
}
