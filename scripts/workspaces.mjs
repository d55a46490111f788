// Lists the npm workspaces of the repository (the globs in the root package.json).
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT } from "./lib.mjs";

/**
 * [{ name, dir (absolute), path (relative), scripts, testTools }] sorted libs first, then services,
 * then tools; testTools are the machine programs its tests drive (scripts/system-tools.mjs).
 */
export function listWorkspaces() {
  const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const found = [];
  for (const pattern of root.workspaces ?? []) {
    const dirs = pattern.endsWith("/*")
      ? (() => {
          const parent = join(ROOT, pattern.slice(0, -2));
          return existsSync(parent) ? readdirSync(parent).sort().map((entry) => join(parent, entry)) : [];
        })()
      : [join(ROOT, pattern)];
    for (const dir of dirs) {
      const manifest = join(dir, "package.json");
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, "utf8"));
      found.push({ name: pkg.name, dir, path: relative(ROOT, dir), scripts: pkg.scripts ?? {}, testTools: pkg.parley?.testTools ?? [] });
    }
  }
  return found;
}
