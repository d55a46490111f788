// `npm run generate -w @parley/prometheus-rules`: writes the rule file and the PrometheusRule.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { generatedFiles, REPO_ROOT } from "./outputs.js";

for (const [path, content] of Object.entries(generatedFiles())) {
  mkdirSync(dirname(join(REPO_ROOT, path)), { recursive: true });
  writeFileSync(join(REPO_ROOT, path), content);
  process.stdout.write(`wrote ${path}\n`);
}
