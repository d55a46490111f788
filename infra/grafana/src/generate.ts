// `npm run generate -w @parley/grafana [-- --runbook-base-url=<url>]`: writes the dashboards'
// JSON, core-panels.json and the Kustomize component from the code in src/dashboards, and
// removes dashboards that no longer exist. The runbook base takes the same option (and
// RUNBOOK_BASE_URL) as the alert rules' generator, so panels and alerts link to the same
// pages; the committed files use the default, which the tests compare.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_RUNBOOK_BASE_URL, isRunbookBase } from "@parley/prometheus-rules";
import { buildDashboards } from "./dashboards/index.js";
import { OWNED_DIRS, renderOutputs } from "./outputs.js";

const { values } = parseArgs({ options: { "runbook-base-url": { type: "string" } } });
const runbookBaseUrl = values["runbook-base-url"] ?? process.env.RUNBOOK_BASE_URL ?? DEFAULT_RUNBOOK_BASE_URL;
if (!isRunbookBase(runbookBaseUrl)) {
  process.stderr.write(`--runbook-base-url: "${runbookBaseUrl}" is neither an absolute URL nor a path in the repository\n`);
  process.exit(1);
}

const workspace = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = renderOutputs(buildDashboards({ runbookBaseUrl }));

for (const dir of OWNED_DIRS) {
  mkdirSync(join(workspace, dir), { recursive: true });
  for (const entry of readdirSync(join(workspace, dir))) {
    if (!files.has(`${dir}/${entry}`)) {
      rmSync(join(workspace, dir, entry));
      process.stdout.write(`removed ${join("infra/grafana", dir, entry)}\n`);
    }
  }
}
for (const [path, content] of files) {
  mkdirSync(dirname(join(workspace, path)), { recursive: true });
  writeFileSync(join(workspace, path), content);
  process.stdout.write(`wrote ${join("infra/grafana", path)}\n`);
}
