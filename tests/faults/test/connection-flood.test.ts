import { io, type Socket } from "socket.io-client";
import { expect, it } from "vitest";
import { runScenario, type ScenarioContext } from "@parley/testkit/faults";
import { testInfra } from "@parley/testkit/vitest";

// Scenario 8: a connection flood from one address and from one user, straight at the gateways,
// while the load's clients keep sending through nginx. The caps of issue 7 hold (refusals are
// TOO_MANY_SOCKETS in the handshake) and the others are served (the verdict is clean). Loopback
// is a whole /8 on Linux: a flood "from another address" binds 127.0.0.x.
const PER_IP = 100;
const PER_USER = 20;

type Outcome = { socket: Socket; result: "ready" | string };

function open(url: string, token: string, localAddress: string): Promise<Outcome> {
  const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true, localAddress } as Parameters<typeof io>[1]);
  return new Promise((resolve) => {
    socket.once("session:ready", () => resolve({ socket, result: "ready" }));
    socket.once("connect_error", (err: Error & { data?: { code?: string } }) => resolve({ socket, result: err.data?.code ?? err.message }));
  });
}

const tally = (outcomes: Outcome[]) => outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o.result]: (t[o.result] ?? 0) + 1 }), {});

it("a connection flood from one address and from one user: the caps hold, refusals are TOO_MANY_SOCKETS, the others are served", async () => {
  let fromOneAddress: Record<string, number> = {};
  let fromOneUser: Record<string, number> = {};
  const flood = async ({ cluster }: ScenarioContext) => {
    const gateways = cluster.gateways.map((g) => g.process.url);
    const tokens = await Promise.all(Array.from({ length: 3 * PER_IP }, (_, i) => cluster.token(`flood-ip-${i}`)));
    const byAddress = await Promise.all(tokens.map((t) => open(gateways[0]!, t, "127.0.0.2")));
    const greedy = await cluster.token("flood-user");
    const byUser: Outcome[] = [];
    // One user from many addresses, in waves over both gateways (the cap counts across the cluster).
    for (let wave = 0; wave < 5; wave++) {
      byUser.push(...(await Promise.all(Array.from({ length: PER_USER }, (_, i) => open(gateways[i % gateways.length]!, greedy, `127.0.1.${wave * PER_USER + i + 1}`)))));
    }
    fromOneAddress = tally(byAddress);
    fromOneUser = tally(byUser);
    for (const o of [...byAddress, ...byUser]) o.socket.disconnect();
  };
  const verdict = await runScenario(
    "8 connection flood",
    testInfra().databaseUrl,
    { cluster: { gatewayEnv: { SOCKETS_PER_IP_MAX: String(PER_IP), SOCKETS_PER_USER_MAX: String(PER_USER) } }, recoveryBoundMs: 10_000 },
    flood,
  );
  process.stdout.write(`fault-suite 8 flood outcomes: ${JSON.stringify({ fromOneAddress, fromOneUser })}\n`);
  expect(verdict.violations).toEqual([]);
  // Per address, per pod: exactly the cap (the nginx-side load clients come from 127.0.0.1).
  expect(fromOneAddress).toEqual({ ready: PER_IP, TOO_MANY_SOCKETS: 2 * PER_IP });
  // Per user across the cluster: the cap, plus at most what two pods admit at the same instant
  // before each hears of the other's (the count is in Redis; see socket-caps.ts).
  expect(fromOneUser.ready).toBeGreaterThanOrEqual(PER_USER);
  expect(fromOneUser.ready).toBeLessThanOrEqual(PER_USER + 2);
  expect(Object.keys(fromOneUser).sort()).toEqual(["TOO_MANY_SOCKETS", "ready"]);
});
