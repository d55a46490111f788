import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** Where the Grafana and alerting work keeps its generated files. */
export const REPO = {
  dashboards: join(ROOT, "infra/grafana/dashboards"),
  corePanels: join(ROOT, "infra/grafana/core-panels.json"),
  rules: join(ROOT, "infra/prometheus/rules"),
};

export const FIXTURE = {
  dashboards: join(FIXTURES, "dashboards"),
  corePanels: join(FIXTURES, "core-panels.json"),
  rules: join(FIXTURES, "rules"),
};

/**
 * Copies of rule files for a test Prometheus with each group's own `interval` removed, so
 * every group is evaluated at the test's 1 s evaluation interval (a group written with
 * `interval: 1m` would otherwise keep its rules' health `unknown` for a minute). Nothing
 * else changes.
 */
export function ruleFilesForTest(files: string[]): string[] {
  if (files.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), "parley-rules-"));
  return files.map((file, i) => {
    const doc = parse(readFileSync(file, "utf8")) as { groups?: { interval?: unknown }[] };
    for (const group of doc.groups ?? []) delete group.interval;
    const copy = join(dir, `${i}-${basename(file)}`);
    writeFileSync(copy, stringify(doc));
    return copy;
  });
}
