import { Redis } from "ioredis";
import { expect, it } from "vitest";
import { runScenario, sleep } from "@parley/testkit/faults";
import { testInfra } from "@parley/testkit/vitest";

// Scenario 3: the Socket.IO adapter's pub/sub connection of one gateway killed on the Redis
// side (CLIENT KILL ... TYPE pubsub), again and again for two seconds, under load. Messages
// published meanwhile never reach that pod's sockets live; when the subscription is back the
// gateway tells its sockets session:resync and the SDK's sync makes the clients whole.
it("the adapter's pub/sub connection of one gateway killed under load: its clients made whole by the resync", async () => {
  let kills = 0;
  const verdict = await runScenario("3 adapter pub/sub killed", testInfra().databaseUrl, { cluster: {}, recoveryBoundMs: 10_000 }, async ({ cluster }) => {
    const admin = new Redis(cluster.redis.url);
    try {
      const until = Date.now() + 2_000;
      while (Date.now() < until) {
        const list = (await admin.call("CLIENT", "LIST", "TYPE", "pubsub")) as string;
        for (const line of list.trim().split("\n")) {
          const id = / name=parley:gateway-0:adapter /.test(` ${line} `) ? /(?:^| )id=(\d+)/.exec(line)?.[1] : undefined;
          if (id) kills += Number((await admin.call("CLIENT", "KILL", "ID", id, "TYPE", "pubsub")) as number);
        }
        await sleep(100);
      }
    } finally {
      admin.disconnect();
    }
  });
  expect(verdict.violations).toEqual([]);
  expect(kills).toBeGreaterThan(0);
});
