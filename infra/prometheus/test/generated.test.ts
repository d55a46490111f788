import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generatedFiles } from "../src/outputs.js";
import { ROOT } from "./paths.js";

describe("generated files", () => {
  it.each(Object.entries(generatedFiles()))("%s is what src/ generates", (path, content) => {
    const hint = `${path} is out of date: run \`npm run generate -w @parley/prometheus-rules\` and commit the result`;
    expect(existsSync(join(ROOT, path)), hint).toBe(true);
    expect(readFileSync(join(ROOT, path), "utf8") === content, hint).toBe(true);
  });

  it("the PrometheusRule is part of the monitoring component", () => {
    const kustomization = readFileSync(join(ROOT, "infra/k8s/components/monitoring/kustomization.yaml"), "utf8");
    expect(kustomization).toMatch(/^\s+- prometheus-rule\.yaml$/m);
  });
});
