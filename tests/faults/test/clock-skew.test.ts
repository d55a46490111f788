import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { expect, it } from "vitest";
import { connectSocket, runScenario, sleep, type ScenarioContext } from "@parley/testkit/faults";
import { testInfra } from "@parley/testkit/vitest";

// Debian's libfaketime (package faketime): preloaded into one process, it shifts that process's
// wall clock (Date.now, new Date) and leaves its monotonic clock (timers) alone.
const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const skewed = (offset: string) => ({ LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: "1" });
const TOLERANCE_S = 5; // JWT_CLOCK_TOLERANCE_S's default
const SKEW_S = 4;

// Scenario 12: clocks that disagree between pods. Gateway 1 runs 4 s ahead, the delivery service
// 4 s behind (8 s apart, four times the presence TTL used here), gateway 0 and the persister on
// time. What must not notice:
// - presence: heartbeats and sweeps are judged by Redis' own clock (TIME), so a skewed pod's
//   users are neither swept nor flap offline;
// - token expiry: a socket hears `session:expired` no earlier than its token's `exp` and no
//   later than exp + JWT_CLOCK_TOLERANCE_S (the verifier's tolerance, which the expiry timer
//   honours), on either pod, while the skew is within the tolerance;
// - receipts: watermarks are seqs, not times: a read on the skewed pod reaches the sender;
// - the message path: the verifier's usual promises.
it("clock skew between pods: presence, token expiry and receipts stay correct", async () => {
  expect(existsSync(LIBFAKETIME), `${LIBFAKETIME} (Debian package faketime; npm test installs it)`).toBe(true);
  const figures: Record<string, unknown> = {};
  const skew = async ({ cluster }: ScenarioContext) => {
    const [g0, g1] = cluster.gateways.map((g) => g.process.url) as [string, string];
    const watcherToken = await cluster.token("skew-watcher");
    const created = await fetch(`${g0}/v1/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${watcherToken}`, "content-type": "application/json" },
      body: JSON.stringify({ kind: "group", title: "skew", memberIds: ["skew-online", "skew-expiring"] }),
    });
    expect(created.status).toBe(201);
    const conversationId = ((await created.json()) as { conversation: { id: string } }).conversation.id;

    // Presence: a user online only on the skewed gateway, watched from the other one.
    const watcher = await connectSocket(g0, watcherToken);
    const heard: { userId: string; status: string }[] = [];
    watcher.on("presence", (p: { userId: string; status: string }) => heard.push(p));
    const online = await connectSocket(g1, await cluster.token("skew-online"));
    await sleep(8_000); // four TTLs of the delivery service's sweeps
    const answer = (await watcher.timeout(5_000).emitWithAck("presence:query", { userIds: ["skew-online"] })) as { presence: { userId: string; status: string }[] };
    figures.presence = answer.presence;
    figures.offlineHeard = heard.filter((p) => p.userId === "skew-online" && p.status === "offline").length;
    expect(answer.presence).toEqual([expect.objectContaining({ userId: "skew-online", status: "online" })]);
    expect(figures.offlineHeard).toBe(0);

    // Receipts: a read on the skewed pod reaches the sender on the other one.
    const sent = (await watcher.timeout(10_000).emitWithAck("message:send", { conversationId, clientMessageId: randomUUID(), body: "read me" })) as { message: { seq: number } };
    const receipt = new Promise<{ userId: string; seq?: number; readSeq?: number }>((resolve) =>
      watcher.on("receipt", (r: { userId: string; seq?: number; readSeq?: number }) => r.userId === "skew-online" && resolve(r)),
    );
    const read = (await online.timeout(10_000).emitWithAck("message:read", { conversationId, seq: sent.message.seq })) as { lastReadSeq: number };
    expect(read.lastReadSeq).toBe(sent.message.seq);
    figures.receipt = await Promise.race([receipt, sleep(10_000).then(() => "none within 10 s")]);
    expect(figures.receipt).toMatchObject({ userId: "skew-online" });

    // Token expiry, on the pod on time and on the one ahead.
    const exp = Math.floor(Date.now() / 1000) + 6;
    const expiring = await cluster.token("skew-expiring", { exp });
    const expiredAt = await Promise.all(
      [g0, g1].map(async (url) => {
        const socket = await connectSocket(url, expiring);
        return new Promise<number>((resolve) => socket.once("session:expired", () => resolve(Date.now() / 1000 - exp)));
      }),
    );
    figures.expiredAfterExpS = expiredAt.map((s) => Math.round(s * 10) / 10);
    for (const late of expiredAt) {
      expect(late).toBeGreaterThanOrEqual(-0.2);
      expect(late).toBeLessThanOrEqual(TOLERANCE_S + 1.5);
    }
    watcher.disconnect();
    online.disconnect();
  };
  const verdict = await runScenario(
    "12 clock skew",
    testInfra().databaseUrl,
    {
      cluster: {
        gatewayEnv: { PRESENCE_HEARTBEAT_MS: "500" },
        gatewayEnvOf: (i) => (i === 1 ? skewed(`+${SKEW_S}s`) : {}),
        deliveryEnv: { ...skewed(`-${SKEW_S}s`), PRESENCE_TTL_MS: "2000", PRESENCE_FLUSH_MS: "200" },
      },
      recoveryBoundMs: 10_000,
    },
    skew,
  );
  process.stdout.write(`fault-suite 12 clock skew: ${JSON.stringify(figures)}\n`);
  expect(verdict.violations).toEqual([]);
});
