import { expect, it } from "vitest";
import postgres from "postgres";
import { FAULT_SECRET, runScenario, sleep, startHerd, type HerdFigures } from "@parley/testkit/faults";
import { testInfra } from "@parley/testkit/vitest";

// 1,000 in the suite; HERD_USERS=10000 for the full herd (see the comment below).
const USERS = Number(process.env.HERD_USERS ?? 1_000);
// Small groups, as most of a chat app's conversations are: every online/offline change of a
// user is broadcast to each member of each of its conversations, so in 500-member rooms the
// herd's first connection alone is 10,000 × 500 presence deliveries (measured: 10 ms of a
// gateway's CPU per socket); that amplification is the big-room scenario's, not this one's.
const PER_CONVERSATION = 10;
// The stated bounds, on this 2-core machine with the whole cluster, nginx, the SDK load and the
// herd's own four processes on it: every dropped herd socket back and synced within BOUND_MS of
// the kill (measured: 5.4 s for 500), the load's SDK clients within LOAD_BOUND_MS (16.6 s: an
// SDK attempt gives up after 10 s without a handshake and tries again, and a busy gateway
// answers handshakes late).
//
// Why 1,000 and not 10,000: the first connection of 1,000 takes 14 s here (about 70 sockets a
// second with the clients beside the cluster), and HERD_USERS=10000 did not finish within 15
// minutes. docs/operations.md, "The fault suite".
const BOUND_MS = 45_000;
const LOAD_BOUND_MS = 90_000;

// Scenario 7: a reconnect herd. USERS users' sockets through nginx over two gateways (bare
// Socket.IO sockets in four processes, each calling `sync` with its cursors on every
// `session:ready` as the SDK does: decision 0085), beside the usual SDK load. One gateway is
// SIGKILLed; its half of the herd reconnects through nginx to the survivor at once, each socket
// with Socket.IO's jittered backoff, and syncs. Reported: how long until all are back and synced
// (p50, p99, max), sync failures, and the survivor's CPU and memory.
it("a reconnect herd after a gateway dies: all back and synced within the bound, no sync failure", async () => {
  let herdFigures: HerdFigures | undefined;
  const survivor: Record<string, number> = {};
  const setup: Record<string, number> = {};
  const verdict = await runScenario(
    "7 reconnect herd",
    testInfra().databaseUrl,
    // Sockets of the herd count toward nothing but the pods' memory; the handshake rate is the test.
    { cluster: {}, recoveryBoundMs: LOAD_BOUND_MS, afterMs: 3_000, verify: { settleMs: 60_000 } },
    async ({ cluster }) => {
      // The herd's conversations, straight into the database in two statements (the setup is
      // not what is measured: through the API its writes queue behind the per-user limits on
      // conversation creation for minutes, and one by one they take two minutes here).
      const setupStarted = Date.now();
      const sql = postgres(cluster.database.url, { max: 1, onnotice: () => {} });
      const conversations = USERS / PER_CONVERSATION;
      let ids: string[];
      try {
        ids = (
          await sql<{ id: string }[]>`
            insert into conversations (id, kind, title, created_by)
            select gen_random_uuid(), 'group', 'herd ' || g, 'herd-' || (g * ${PER_CONVERSATION})
            from generate_series(0, ${conversations - 1}) g
            order by g
            returning id`
        ).map((r) => r.id);
        await sql`
          insert into members (conversation_id, user_id, role)
          select c.id, 'herd-' || (c.ord - 1) * ${PER_CONVERSATION} + m, case when m = 0 then 'owner' else 'member' end
          from unnest(${ids}::uuid[]) with ordinality as c(id, ord), generate_series(0, ${PER_CONVERSATION - 1}) m`;
      } finally {
        await sql.end({ timeout: 5 });
      }
      // Each user syncs its one conversation from the start, as an app does after a reconnect.
      const users = Array.from({ length: USERS }, (_, u) => ({ id: `herd-${u}`, cursors: { [ids[Math.floor(u / PER_CONVERSATION)]!]: 0 } }));
      const herd = await startHerd({ url: cluster.clientUrls[0]!, secret: FAULT_SECRET, users, workers: 4 });
      try {
        setup.connectedMs = Date.now() - setupStarted;
        setup.ready = herd.ready;
        expect(herd.failed, JSON.stringify(herd.reasons)).toBe(0);
        const before = (await cluster.sample())[cluster.gateways[1]!.process.name]!;
        herd.mark();
        const killedAt = Date.now();
        await cluster.gateways[0]!.process.kill();
        let peakRss = before.rssBytes;
        for (;;) {
          await sleep(500);
          const s = (await cluster.sample())[cluster.gateways[1]!.process.name];
          if (s) peakRss = Math.max(peakRss, s.rssBytes);
          herdFigures = await herd.report();
          if ((herdFigures.dropped > 0 && herdFigures.stillDown === 0) || Date.now() - killedAt > BOUND_MS + 15_000) break;
        }
        const after = (await cluster.sample())[cluster.gateways[1]!.process.name]!;
        survivor.cpuSecondsDuringHerd = Math.round((after.cpuSeconds - before.cpuSeconds) * 10) / 10;
        survivor.rssBeforeMiB = Math.round(before.rssBytes / 2 ** 20);
        survivor.rssPeakMiB = Math.round(peakRss / 2 ** 20);
        survivor.fdsBefore = before.fds;
        survivor.fdsAfter = after.fds;
        // The killed pod comes back, as Kubernetes would start it again.
        await cluster.gateways[0]!.process.start();
      } finally {
        await herd.close();
      }
    },
  );
  process.stdout.write(`fault-suite 7 reconnect herd: ${JSON.stringify({ setup, herd: herdFigures, survivor, load: verdict.figures })}\n`);
  expect(verdict.violations).toEqual([]);
  expect(setup.ready).toBe(USERS);
  expect(herdFigures!.dropped).toBeGreaterThan(USERS / 4);
  expect(herdFigures!.stillDown).toBe(0);
  expect(herdFigures!.syncFailures).toBe(0);
  expect(herdFigures!.synced.max).toBeLessThan(BOUND_MS);
}, USERS > 2_000 ? 900_000 : 300_000);
