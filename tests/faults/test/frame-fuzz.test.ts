import fc from "fast-check";
import { expect, it } from "vitest";
import { openRawSession, openRawWebSocket } from "@parley/testkit";
import { runScenario, sampleProcess, type ScenarioContext } from "@parley/testkit/faults";
import { testInfra } from "@parley/testkit/vitest";

// Scenario 14: fuzzed raw Engine.IO / Socket.IO frames (fast-check) at a gateway process, before
// and after authentication, while the load runs through nginx. A bad frame is refused (an error
// ack, or the socket closed); the pod survives (no crash: the verdict), its memory is bounded,
// and a socket that was not closed still answers a good event.
const RUNS = 100;
const EVENTS = ["message:send", "sync", "messages:history", "typing:start", "receipt:read", "presence:query", "auth:refresh", "message:edit", "no:such:event"];

const json = fc.jsonValue({ maxDepth: 4 });
const frame = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.tuple(fc.constantFrom("0", "1", "2", "3", "4", "5", "6"), fc.string({ maxLength: 100 })).map(([t, s]) => t + s),
  fc.tuple(fc.constantFrom("0", "1", "2", "3", "4", "5", "6"), fc.option(fc.nat(), { nil: undefined }), json).map(([t, id, body]) => `4${t}${id ?? ""}${JSON.stringify(body)}`),
  fc.tuple(fc.nat(1_000), fc.constantFrom(...EVENTS), json).map(([id, event, payload]) => `42${id}${JSON.stringify([event, payload])}`),
  fc.tuple(fc.nat(1_000), fc.constantFrom(...EVENTS), fc.array(json, { maxLength: 4 })).map(([id, event, args]) => `42${id}${JSON.stringify([event, ...args])}`),
  fc.tuple(fc.nat(5), fc.constantFrom(...EVENTS)).map(([n, event]) => `45${n}-${JSON.stringify([event, { _placeholder: true, num: n }])}`),
);

it("fuzzed raw Socket.IO and Engine.IO frames: refused, the pod survives with bounded memory, others served", async () => {
  let figures: Record<string, number> = {};
  const fuzz = async ({ cluster }: ScenarioContext) => {
    const gateway = cluster.gateways[0]!.process;
    const token = await cluster.token("fuzzer");
    const rssBefore = (await sampleProcess(gateway.pid!))!.rssBytes;
    let closed = 0;
    let answered = 0;
    let left = 0;
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(frame, { minLength: 1, maxLength: 5 }), async (authenticated, frames) => {
        const ws = authenticated ? await openRawSession(gateway.url, token) : await openRawWebSocket(gateway.url);
        try {
          for (const f of frames) ws.send(f);
          if (!authenticated) return;
          // A good event after the bad ones: answered, unless the server closed the socket.
          ws.send(`42999${JSON.stringify(["sync", { limit: 1 }])}`);
          // A frame may also have left the namespace (`41`) with the connection open: then nothing answers.
          const outcome = await Promise.race([
            ws.next((t) => t.startsWith("43999"), 2_000).then(() => "answered", () => "left"),
            ws.closed.then(() => "closed"),
          ]);
          if (outcome === "closed") closed++;
          else if (outcome === "answered") answered++;
          else left++;
        } finally {
          ws.destroy();
        }
      }),
      { numRuns: RUNS },
    );
    const health = await fetch(`${gateway.url}/healthz`).then((r) => r.status);
    expect(health).toBe(200);
    figures = { runs: RUNS, closed, answered, left, rssGrowthMiB: Math.round(((await sampleProcess(gateway.pid!))!.rssBytes - rssBefore) / 2 ** 20) };
  };
  const verdict = await runScenario("14 frame fuzzing", testInfra().databaseUrl, { cluster: {}, recoveryBoundMs: 10_000 }, fuzz);
  process.stdout.write(`fault-suite 14 frame fuzzing: ${JSON.stringify(figures)}\n`);
  expect(verdict.violations).toEqual([]);
  expect(figures.answered).toBeGreaterThan(0);
  expect(figures.rssGrowthMiB).toBeLessThan(100);
}, 300_000);
