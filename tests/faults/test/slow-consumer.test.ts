import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { openRawSession } from "@parley/testkit";
import { connectSocket, podMetric, runScenario, sleep, type ScenarioContext } from "@parley/testkit/faults";
import { testInfra } from "@parley/testkit/vitest";

const BOUND = 1024 * 1024;
// 4,000 three-byte characters: a 12 KB message:new frame, the largest body the contract allows.
const BIG_BODY = "€".repeat(4_000);

// Scenario 9: a client that stops reading while messages flow to it (a phone whose app froze, a
// proxy that stalls). The gateway queues what it cannot write; once that passes
// SOCKET_SEND_BUFFER_MAX_BYTES (1 MiB here, 16 MiB by default) it drops the socket, so the
// pod's memory stays bounded whatever the client does; the load beside it is served.
it("a slow consumer: disconnected once its buffer passes the bound, the gateway's memory stays bounded, the others are served", async () => {
  const figures: Record<string, number> = {};
  const slowConsumer = async ({ cluster }: ScenarioContext) => {
    const gateway = cluster.gateways[0]!.process;
    const flooders = ["flood-a", "flood-b", "flood-c", "flood-d"];
    const owner = await cluster.token(flooders[0]!);
    const created = await fetch(`${gateway.url}/v1/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${owner}`, "content-type": "application/json" },
      body: JSON.stringify({ kind: "group", title: "slow consumer", memberIds: [...flooders.slice(1), "never-reads"] }),
    });
    expect(created.status).toBe(201);
    const conversationId = ((await created.json()) as { conversation: { id: string } }).conversation.id;

    const reader = await openRawSession(gateway.url, await cluster.token("never-reads"));
    await reader.next((t) => t.startsWith('42["session:ready"'));
    reader.stopReading();
    const before = (await cluster.sample())[gateway.name]!;
    const disconnectsBefore = await podMetric(gateway.url, "parley_gateway_slow_consumer_disconnects_total");
    // The cut is seen in the gateway's metric: a client that does not read does not see its
    // socket close either (its own buffers hold the end).
    let closedAt = 0;
    const watcher = setInterval(() => {
      void podMetric(gateway.url, "parley_gateway_slow_consumer_disconnects_total").then((n) => {
        if (n > disconnectsBefore && !closedAt) closedAt = Date.now();
      });
    }, 100);

    // Four senders on the other gateway, 32 sends in flight each, until the gateway lets go.
    const sockets = await Promise.all(flooders.map(async (u) => connectSocket(cluster.gateways[1]!.process.url, await cluster.token(u))));
    const startedAt = Date.now();
    let sent = 0;
    let peakRss = before.rssBytes;
    const sampler = setInterval(() => {
      void cluster.sample().then((s) => (peakRss = Math.max(peakRss, s[gateway.name]?.rssBytes ?? 0)));
    }, 250);
    try {
      await Promise.all(
        sockets.flatMap((socket) =>
          Array.from({ length: 32 }, async () => {
            while (!closedAt && Date.now() - startedAt < 60_000) {
              const ack = (await socket.timeout(10_000).emitWithAck("message:send", { conversationId, clientMessageId: randomUUID(), body: BIG_BODY })) as { message?: unknown };
              if (ack.message) sent++;
            }
          }),
        ),
      );
    } finally {
      clearInterval(sampler);
      clearInterval(watcher);
      for (const s of sockets) s.disconnect();
    }
    await sleep(1_000);
    const after = (await cluster.sample())[gateway.name]!;
    figures.sentBeforeCut = sent;
    figures.cutAfterMs = closedAt - startedAt;
    // What reached the socket: every acked message is fanned out to it (12 KB of body each).
    figures.bytesFlowed = sent * BIG_BODY.length * 3;
    figures.rssBeforeMiB = Math.round(before.rssBytes / 2 ** 20);
    figures.rssPeakMiB = Math.round(peakRss / 2 ** 20);
    figures.rssAfterMiB = Math.round(after.rssBytes / 2 ** 20);
    figures.disconnects = (await podMetric(gateway.url, "parley_gateway_slow_consumer_disconnects_total")) - disconnectsBefore;
    expect(closedAt).toBeGreaterThan(0);
    reader.destroy();
  };
  const verdict = await runScenario(
    "9 slow consumer",
    testInfra().databaseUrl,
    { cluster: { gatewayEnv: { SOCKET_SEND_BUFFER_MAX_BYTES: String(BOUND) } }, recoveryBoundMs: 10_000 },
    slowConsumer,
  );
  process.stdout.write(`fault-suite 9 slow consumer: ${JSON.stringify(figures)}\n`);
  expect(verdict.violations).toEqual([]);
  expect(figures.disconnects).toBe(1);
  // Several megabytes went to the socket before the cut (the kernel's buffers take them first),
  // and the pod held no more than the bound plus its usual working set.
  expect(figures.bytesFlowed).toBeGreaterThan(BOUND);
  expect(figures.rssPeakMiB! - figures.rssBeforeMiB!).toBeLessThan(96);
});
