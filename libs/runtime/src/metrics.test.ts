import { describe, expect, it } from "vitest";
import { Counter } from "prom-client";
import { createMetricsRegistry, eachOf, startAtZero } from "./metrics.js";

describe("startAtZero", () => {
  it("exports every given label set at 0 before anything is counted, and counts from there", async () => {
    const registry = createMetricsRegistry({ service: "test" });
    const failed = startAtZero(
      new Counter({ name: "parley_test_failed_total", help: "test", labelNames: ["reason"] as const, registers: [registry] }),
      eachOf("reason", ["transient", "poison"]),
    );
    const series = async () => (await registry.metrics()).split("\n").filter((l) => l.startsWith("parley_test_failed_total"));
    expect(await series()).toEqual(['parley_test_failed_total{reason="transient",service="test"} 0', 'parley_test_failed_total{reason="poison",service="test"} 0']);
    failed.inc({ reason: "poison" });
    expect(await series()).toContain('parley_test_failed_total{reason="poison",service="test"} 1');
  });
});
