import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import type { ParleyError } from "@parley/protocol";
import type { PersistBacklog } from "@parley/bus";
import { testLogger } from "@parley/testkit";
import { createGatewayMetrics } from "../metrics.js";
import { PersistAdmission } from "./persist-admission.js";

// The decision only, from given samples; the sample itself (the Lua script against a real
// stream) and refusals end to end are in tests/cluster/test/admission.test.ts.

async function admission(backlog: PersistBacklog | Error | PersistBacklog[]) {
  const registry = new Registry();
  const metrics = createGatewayMetrics(registry);
  const partitions = Array.isArray(backlog) ? backlog : [backlog];
  const a = new PersistAdmission(
    { maxDelayMs: 300, maxStreamBytes: 1_000_000, sampleMs: 50, partitions: partitions.length },
    {
      read: async (k) => {
        const b = partitions[k]!;
        if (b instanceof Error) throw b;
        return b;
      },
      metrics,
      logger: testLogger(),
      random: () => 0,
    },
  );
  await a.start();
  a.close();
  const refusal = (partition = 0) => {
    try {
      a.check(partition);
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

  it("judges each partition on its own delay: only the lagging partition's sends are refused", async () => {
    const { refusal, registry } = await admission([
      { ageMs: 10, bytes: 100 },
      { ageMs: 900, bytes: 100 },
      { ageMs: 0, bytes: 100 },
    ]);
    expect(refusal(0)).toBeUndefined();
    expect(refusal(1)).toMatchObject({ code: "UNAVAILABLE", retryAfterMs: 600 });
    expect(refusal(2)).toBeUndefined();
    // The pod's gauge shows the worst partition.
    expect((await registry.getSingleMetric("parley_gateway_persist_delay_seconds")!.get()).values[0]!.value).toBe(0.9);
  });

  it("judges the size budget over all partitions together (they share Redis' memory)", async () => {
    const { refusal } = await admission([
      { ageMs: 0, bytes: 600_000 },
      { ageMs: 0, bytes: 600_000 },
    ]);
    expect(refusal(0)).toMatchObject({ code: "UNAVAILABLE", retryAfterMs: 1_000 });
    expect(refusal(1)).toMatchObject({ code: "UNAVAILABLE" });
  });

  it("reads two partitions per sample in turn, so each of 8 is read every fourth sample (all of them at the start)", async () => {
    const reads: number[] = [];
    const registry = new Registry();
    const a = new PersistAdmission(
      { maxDelayMs: 300, maxStreamBytes: 1_000_000, sampleMs: 10, partitions: 8 },
      {
        read: async (k) => {
          reads.push(k);
          return { ageMs: 0, bytes: 0 };
        },
        metrics: createGatewayMetrics(registry),
        logger: testLogger(),
      },
    );
    await a.start();
    expect(reads).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await expect.poll(() => reads.length, { timeout: 2_000, interval: 5 }).toBeGreaterThanOrEqual(16);
    a.close();
    expect(reads.slice(8, 16)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("admits when the backlog cannot be read (the append then fails fast by itself)", async () => {
    const { refusal } = await admission(new Error("Connection is closed."));
    expect(refusal()).toBeUndefined();
  });
});
