#!/usr/bin/env node
// Makes a fresh clone runnable: installs dependencies when node_modules is missing, then
// builds every workspace with turbo (cached, so a second run takes a second or two).
// Usage: `node scripts/ensure-built.mjs`, or `await ensureBuilt()` from another script.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, isMain, red, run, step } from "./lib.mjs";

/**
 * Resolves with the packages whose build failed. With `keepGoing` (turbo --continue) every
 * package that can build does and the failures are returned; without it a failure throws.
 */
export async function ensureBuilt({ quiet = false, keepGoing = false } = {}) {
  const say = quiet ? () => {} : step;
  if (!existsSync(join(ROOT, "node_modules"))) {
    const lock = existsSync(join(ROOT, "package-lock.json"));
    let installed = false;
    if (lock) {
      say("installing dependencies (npm ci), first run only…");
      installed = (await run("npm", ["ci", "--no-fund", "--no-audit"])).code === 0;
      // npm ci refuses a lock file that is out of step with package.json; npm install
      // then brings them together rather than leaving a fresh clone unusable.
      if (!installed) say("npm ci failed; trying npm install…");
    }
    if (!installed) {
      if (!lock) say("installing dependencies (npm install), first run only…");
      const { code } = await run("npm", ["install", "--no-fund", "--no-audit"]);
      if (code !== 0) throw new Error(`npm install failed (exit ${code})`);
    }
  }
  say("building workspaces (turbo run build)…");
  const started = Date.now();
  // errors-only keeps a clean build to one line; a failing package prints its tsc output.
  const { code, output } = await run(join(ROOT, "node_modules", ".bin", "turbo"), ["run", "build", "--output-logs=errors-only", ...(keepGoing ? ["--continue"] : [])], {
    capture: true,
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1", TURBO_NO_UPDATE_NOTIFIER: "1" },
  });
  if (code !== 0) {
    process.stderr.write(output);
    const failed = [...output.matchAll(/(@[\w-]+\/[\w-]+)#build/g)].map((match) => match[1]);
    const unique = [...new Set(failed)];
    if (!keepGoing) throw new Error(`build failed (turbo exit ${code})${unique.length ? `: ${unique.join(", ")}` : ""}`);
    say(`build failed for ${unique.join(", ") || "some packages"}; the rest are built`);
    return unique.length ? unique : ["(turbo)"];
  }
  const cached = /Cached:\s+(\d+) cached, (\d+) total/.exec(output);
  say(`built in ${((Date.now() - started) / 1000).toFixed(1)} s${cached ? ` (${cached[1]}/${cached[2]} from cache)` : ""}`);
  return [];
}

if (isMain(import.meta.url)) {
  ensureBuilt().catch((error) => {
    process.stderr.write(`${red("✗")} ${error.message}\n`);
    process.exit(1);
  });
}
