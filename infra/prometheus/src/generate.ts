// `npm run generate -w @parley/prometheus-rules [-- --runbook-base-url=<url>]`: writes the rule
// file and the PrometheusRule. The runbook base (also RUNBOOK_BASE_URL) defaults to the
// repository's docs/runbooks; the committed files use the default, which the tests compare.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { generatedFiles, REPO_ROOT } from "./outputs.js";
import { DEFAULT_RUNBOOK_BASE_URL, isRunbookBase } from "./runbook.js";

const { values } = parseArgs({ options: { "runbook-base-url": { type: "string" } } });
const runbookBaseUrl = values["runbook-base-url"] ?? process.env.RUNBOOK_BASE_URL ?? DEFAULT_RUNBOOK_BASE_URL;
if (!isRunbookBase(runbookBaseUrl)) {
  process.stderr.write(`--runbook-base-url: "${runbookBaseUrl}" is neither an absolute URL nor a path in the repository\n`);
  process.exit(1);
}

for (const [path, content] of Object.entries(generatedFiles({ runbookBaseUrl }))) {
  mkdirSync(dirname(join(REPO_ROOT, path)), { recursive: true });
  writeFileSync(join(REPO_ROOT, path), content);
  process.stdout.write(`wrote ${path}\n`);
}
