import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OWNED_DIRS, renderOutputs } from "../src/outputs.js";
import { WORKSPACE } from "./dashboards.js";

const REGENERATE = "run `npm run generate -w @parley/grafana` and commit the result";

describe("generated files", () => {
  const files = renderOutputs();

  it("are committed exactly as the generator writes them", () => {
    const stale: string[] = [];
    for (const [path, content] of files) {
      const file = join(WORKSPACE, path);
      if (!existsSync(file)) stale.push(`${path} is missing`);
      else if (readFileSync(file, "utf8") !== content) stale.push(`${path} differs from its generator`);
    }
    expect(stale, `${stale.join("\n")}\n→ ${REGENERATE}`).toEqual([]);
  });

  it("leave nothing else in the folders the generator owns", () => {
    const extra = OWNED_DIRS.flatMap((dir) => readdirSync(join(WORKSPACE, dir)).map((entry) => `${dir}/${entry}`)).filter((path) => !files.has(path));
    expect(extra, `no dashboard generates these files\n→ ${REGENERATE} (it removes them)`).toEqual([]);
  });
});
