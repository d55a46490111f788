import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import type { ParleyError } from "@parley/protocol";
import type { PersistBacklog } from "@parley/bus";
import { testLogger } from "@parley/testkit";
import { createGatewayMetrics } from "../metrics.js";
import { PersistAdmission } from "./persist-admission.js";

// The decision only, from given samples; the sample itself (the Lua script against a real
// stream) and refusals end to end are in tests/cluster/test/admission.test.ts.

async function admission(backlog: PersistBacklog | Error) {
  const registry = new Registry();
  const metrics = createGatewayMetrics(registry);
  const a = new PersistAdmission(
    { maxDelayMs: 300, maxStreamBytes: 1_000_000, sampleMs: 50 },
    { read: async () => { if (backlog instanceof Error) throw backlog; return backlog; }, metrics, logger: testLogger(), random: () => 0 },
  );
  await a.start();
  a.close();
  const refusal = () => {
    try {
      a.check();
      return undefined;
    } catch (err) {
      return err as ParleyError;
    }
  };
  return { refusal, registry };
}

const refusedBy = async (registry: Registry, reason: string) =>
  (await registry.getSingleMetric("parley_gateway_admission_refused_total")!.get()).values.find((v) => v.labels.reason === reason)?.value;

describe("persist admission", () => {
  it("admits within both budgets", async () => {
    const { refusal } = await admission({ ageMs: 300, bytes: 1_000_000 });
    expect(refusal()).toBeUndefined();
  });

  it("refuses past the delay budget with UNAVAILABLE and a retryAfterMs of what it is over, at least one sample", async () => {
    const { refusal, registry } = await admission({ ageMs: 301, bytes: 10 });
    expect(refusal()).toMatchObject({ code: "UNAVAILABLE", retryAfterMs: 50 });
    const far = await admission({ ageMs: 2_300, bytes: 10 });
    expect(far.refusal()).toMatchObject({ code: "UNAVAILABLE", retryAfterMs: 2_000 });
    expect(await refusedBy(registry, "persist_delay")).toBe(1);
    expect(await refusedBy(registry, "stream_bytes")).toBe(0);
  });

  it("refuses past the byte budget even when the backlog is young", async () => {
    const { refusal, registry } = await admission({ ageMs: 0, bytes: 1_000_001 });
    expect(refusal()).toMatchObject({ code: "UNAVAILABLE", retryAfterMs: 1_000 });
    expect(await refusedBy(registry, "stream_bytes")).toBe(1);
  });

  it("caps retryAfterMs at 10 s however far behind", async () => {
    const { refusal } = await admission({ ageMs: 3_600_000, bytes: 10 });
    expect(refusal()?.retryAfterMs).toBe(10_000);
  });

  it("admits when the backlog cannot be read (the append then fails fast by itself)", async () => {
    const { refusal } = await admission(new Error("Connection is closed."));
    expect(refusal()).toBeUndefined();
  });
});
