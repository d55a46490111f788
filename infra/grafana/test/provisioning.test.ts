import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { WORKSPACE } from "./dashboards.js";

const read = (path: string) => parse(readFileSync(join(WORKSPACE, path), "utf8")) as unknown;

// The fields Grafana's provisioning reads (apiVersion 1), strictly: a misspelt key is an error here, not ignored.
const DashboardProviders = z.strictObject({
  apiVersion: z.literal(1),
  providers: z.array(
    z.strictObject({
      name: z.string(),
      orgId: z.number().int(),
      type: z.literal("file"),
      folder: z.string(),
      folderUid: z.string(),
      allowUiUpdates: z.boolean(),
      disableDeletion: z.boolean(),
      updateIntervalSeconds: z.number().int().positive(),
      options: z.strictObject({ path: z.string().startsWith("/"), foldersFromFilesStructure: z.boolean() }),
    }),
  ).length(1),
});

const Datasources = z.strictObject({
  apiVersion: z.literal(1),
  datasources: z.array(
    z.strictObject({
      name: z.string(),
      type: z.literal("prometheus"),
      uid: z.string(),
      access: z.literal("proxy"),
      url: z.string(),
      isDefault: z.boolean(),
      editable: z.boolean(),
      jsonData: z.strictObject({ timeInterval: z.string(), httpMethod: z.enum(["GET", "POST"]) }),
    }),
  ).length(1),
});

describe("provisioning files", () => {
  it("load the dashboards from one file provider folder", () => {
    const file = DashboardProviders.parse(read("provisioning/dashboards/parley.yaml"));
    expect(file.providers[0]!.folder).toBe("Parley");
  });

  it("define a Prometheus datasource whose URL comes from PROMETHEUS_URL", () => {
    const file = Datasources.parse(read("provisioning/datasources/prometheus.yaml"));
    const source = file.datasources[0]!;
    expect(source.url).toBe("${PROMETHEUS_URL}");
    // $__rate_interval is four times this: it must be the monitors' scrape interval.
    const monitors = readFileSync(join(WORKSPACE, "../k8s/components/monitoring/service-monitor.yaml"), "utf8");
    expect(monitors).toContain(`interval: ${source.jsonData.timeInterval}`);
  });
});
