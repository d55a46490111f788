import { expect, it } from "vitest";
import { runScenario, sleep } from "@parley/testkit/faults";
import { testInfra } from "@parley/testkit/vitest";

// Scenario 4: one gateway cut off from Redis alone (its own TCP path to Redis reset and refused
// for five seconds) while the other gateway, the persister and delivery keep theirs. Its
// clients' sends are refused as UNAVAILABLE or time out and are retried by the SDK; what it
// missed on the adapter meanwhile is made whole by the resync when its path is back.
it("one gateway cut off from Redis alone for 5 s under load: nothing lost or doubled, its clients whole, no restart", async () => {
  const verdict = await runScenario("4 gateway cut off from Redis", testInfra().databaseUrl, { cluster: {}, recoveryBoundMs: 15_000 }, async ({ cluster }) => {
    const path = cluster.gateways[0]!.redisPath!;
    path.cut();
    await sleep(5_000);
    path.restore();
  });
  expect(verdict.violations).toEqual([]);
});
