// Run in the Dockerfile's prod-deps stage, after `npm ci --omit=dev --workspace services/$SERVICE`:
// npm installs the production dependencies of every workspace the service reaches, even through
// a devDependency (the test kit's testcontainers, the web example's vite), so this removes every
// package of node_modules that `npm ls --omit=dev` does not count in the service's tree.
// Usage: node prune-production.mjs TREE_FILE (the output of `npm ls --all --omit=dev --long --json`).
import { lstatSync, readdirSync, readFileSync, realpathSync, rmSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The folders of every package in the tree, leaving out what npm marks extraneous: installed
 * (an optional peer of another workspace's tool, such as vitest's tsx) but needed by nothing here.
 */
const keep = new Set();
// Every occurrence is walked: npm lists a package's dependencies once and marks its other
// occurrences deduped, with none, in whatever order the tree gives.
const collect = (node) => {
  for (const child of Object.values(node.dependencies ?? {})) {
    if (child.extraneous || !child.path) continue;
    keep.add(child.path);
    collect(child);
  }
};
collect(JSON.parse(readFileSync(process.argv[2], "utf8")));

/**
 * Then what every kept package needs at run time, by Node's own lookup (its node_modules, then
 * each parent's): npm ls prints a package's dependencies under one of its occurrences only, and
 * which one differs between npm versions. With the Node 24 image's npm, `mime-types` was listed
 * without `mime-db` everywhere, so the prune removed it and every service failed at its first
 * import (socket.io → accepts → mime-types); the tree's own children stay the first source.
 */
function resolveFrom(dir, name) {
  for (let at = dir; ; ) {
    const candidate = join(at, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    const up = dirname(at);
    if (up === at) return undefined;
    at = up;
  }
}
const queue = [...keep];
while (queue.length > 0) {
  const path = queue.pop();
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(path, "package.json"), "utf8"));
  } catch {
    continue; // a workspace link's target or a folder without a manifest: nothing to follow
  }
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
    const found = resolveFrom(path, name);
    if (found && !keep.has(found)) {
      keep.add(found);
      queue.push(found);
    }
  }
}
let removed = 0;

/** A package stays when npm ls lists it, or, for a workspace link, the folder it points to. */
function kept(path) {
  if (keep.has(path)) return true;
  return lstatSync(path).isSymbolicLink() && existsSync(path) && keep.has(realpathSync(path));
}

function walk(modules) {
  if (!existsSync(modules)) return;
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith(".")) continue;
    const path = join(modules, entry);
    if (entry.startsWith("@")) {
      for (const scoped of readdirSync(path)) visit(join(path, scoped));
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
    } else visit(path);
  }
  // Command links of removed packages would dangle.
  const bin = join(modules, ".bin");
  if (existsSync(bin)) for (const link of readdirSync(bin)) if (!existsSync(join(bin, link))) rmSync(join(bin, link));
}

function visit(path) {
  if (!kept(path)) {
    rmSync(path, { recursive: true, force: true });
    removed += 1;
    return;
  }
  if (!lstatSync(path).isSymbolicLink()) walk(join(path, "node_modules"));
}

walk(join(process.cwd(), "node_modules"));
process.stdout.write(`prune-production: removed ${removed} packages outside the service's production tree\n`);
