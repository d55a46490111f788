import { describe, expect, it } from "vitest";
import type { K8sObject } from "./kustomize.js";
import { schemaErrors } from "./schemas.js";

// The validator itself: the manifest tests rely on it catching both kinds of mistakes.
const deployment = (container: Record<string, unknown>): K8sObject => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "x", labels: { a: "b" } },
  spec: {
    selector: { matchLabels: { a: "b" } },
    template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "i:1", ...container }] } },
  },
});

describe("schema validation", () => {
  it("accepts a valid object, maps (labels, resources) included", () => {
    expect(schemaErrors(deployment({ resources: { limits: { memory: "1Gi" } }, lifecycle: { preStop: { sleep: { seconds: 5 } } } }))).toEqual([]);
  });

  it("rejects an unknown field, naming its path", () => {
    expect(schemaErrors(deployment({ readinessprobe: {} }))).toEqual(["unknown field spec.template.spec.containers[0].readinessprobe"]);
  });

  it("rejects a wrong type", () => {
    expect(schemaErrors({ ...deployment({}), spec: { replicas: "two" } }).join()).toMatch(/replicas must be integer/);
  });

  it("checks custom resources against their CRD schema, unknown fields included", () => {
    const scaled: K8sObject = {
      apiVersion: "keda.sh/v1alpha1",
      kind: "ScaledObject",
      metadata: { name: "s" },
      spec: { scaleTargetRef: { name: "x" }, triggers: [{ type: "redis", metadata: { listName: "q" }, threshold: 5 }] },
    };
    expect(schemaErrors(scaled)).toEqual(["unknown field spec.triggers[0].threshold"]);
  });

  it("refuses a kind it has no schema for", () => {
    expect(schemaErrors({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } })).toEqual([
      "no schema for example.com/v1 Widget (add its model to tests/k8s/test/schemas.ts)",
    ]);
  });
});
