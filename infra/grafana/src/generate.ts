// `npm run generate -w @parley/grafana`: writes the dashboards' JSON, core-panels.json and the
// Kustomize component from the code in src/dashboards, and removes dashboards that no longer exist.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { OWNED_DIRS, renderOutputs } from "./outputs.js";

const workspace = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = renderOutputs();

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
