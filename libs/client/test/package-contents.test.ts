import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** What `npm publish` would upload for a workspace package (`npm pack --dry-run`). */
function packedFiles(workspace: string): string[] {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", "-w", workspace], { cwd: root, encoding: "utf8" });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

it.each([
  ["@parley/client", "libs/client"],
  ["@parley/react", "libs/react"],
])("%s is publishable: ES modules with types and a README, no tests, side-effect free", (name, dir) => {
  const manifest = JSON.parse(readFileSync(`${root}${dir}/package.json`, "utf8")) as Record<string, unknown>;
  expect(manifest).toMatchObject({ name, type: "module", sideEffects: false, publishConfig: { access: "public" } });
  expect(manifest.private).toBeUndefined();
  const files = packedFiles(name);
  expect(files).toEqual(expect.arrayContaining(["package.json", "README.md", "dist/index.js", "dist/index.d.ts"]));
  expect(files.filter((f) => /\.test\.|(^|\/)test\//.test(f) || f.startsWith("src/"))).toEqual([]);
});
