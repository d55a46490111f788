import { expect, it } from "vitest";
import { runScenario } from "@parley/testkit/faults";
import { testInfra } from "@parley/testkit/vitest";

// Scenario 6: every pod — gateways, persister, delivery — SIGTERMed one after another under
// load and started again once it has exited, the way Kubernetes rolls a deployment. Each
// drains (exit 0); clients move to the other gateway; nothing acked is lost or doubled.
it("a rolling SIGTERM of every service under load: each drains with exit 0, nothing lost, every client whole", async () => {
  const exits: Record<string, number | null> = {};
  const verdict = await runScenario("6 rolling SIGTERM", testInfra().databaseUrl, { cluster: {}, recoveryBoundMs: 15_000 }, async ({ cluster }) => {
    for (const pod of cluster.pods) {
      exits[pod.process.name] = await pod.process.terminate();
      await pod.process.start(60_000);
    }
  });
  expect(verdict.violations).toEqual([]);
  expect(Object.values(exits)).toEqual(verdict.cluster.pods.map(() => 0));
});
