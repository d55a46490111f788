import { expect, it } from "vitest";
import { runScenario, sleep } from "@parley/testkit/faults";
import { testInfra } from "@parley/testkit/vitest";

// Scenario 1: a gateway process SIGKILLed under load (no drain: its sockets just die), and
// started again a second later as Kubernetes would. Its clients reconnect through nginx to the
// other gateway, their outboxes resend what was not acked (same clientMessageId: stored once).
it("a gateway SIGKILLed under load: nothing acked lost or doubled, its clients back and whole", async () => {
  const verdict = await runScenario("1 gateway SIGKILL", testInfra().databaseUrl, { cluster: {}, recoveryBoundMs: 10_000 }, async ({ cluster }) => {
    await cluster.gateways[0]!.process.kill();
    await sleep(1_000);
    await cluster.gateways[0]!.process.start();
  });
  expect(verdict.violations).toEqual([]);
  // Its clients did go away and come back: the fault happened.
  expect(verdict.figures.clientsBackMs).toBeGreaterThan(0);
});
