#!/usr/bin/env node
// `npm test`: every test of every workspace, from a fresh clone.
//
// 1. install + build (scripts/ensure-built.mjs);
// 2. make sure redis-server and PostgreSQL are on the machine, and the programs the chosen
//    workspaces' tests drive (Chromium, Prometheus: scripts/system-tools.mjs), apt-get when root;
// 3. start ONE Redis and ONE PostgreSQL for the whole run and hand them to every
//    workspace as TEST_REDIS_URL / TEST_DATABASE_URL (the testkit's globalSetup uses
//    them instead of starting its own; tests make their own database and key prefix);
// 4. run each workspace's `vitest run` one after another (vitest itself uses both cores),
//    reading its JSON report for the counts;
//    whatever a workspace's run leaves running is ended when it exits (the test kit's reapGroup);
// 5. print a per-workspace table and the closing line `N passed, N failed[, N skipped]`.
//
// Usage: npm test [-- WORKSPACE...]   (a name like gateway or @parley/gateway, or a path)
// Env: TEST_REDIS_URL / TEST_DATABASE_URL to use servers of your own;
//      PARLEY_TEST_INFRA=local|docker|auto; PARLEY_TEST_TIMEOUT_MIN per workspace (default 20).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt } from "./ensure-built.mjs";
import { ROOT, bold, dim, green, red, step, yellow } from "./lib.mjs";

import { ensureTools, installHint } from "./system-tools.mjs";
import { listWorkspaces } from "./workspaces.mjs";

const timeoutMinutes = Number(process.env.PARLEY_TEST_TIMEOUT_MIN ?? 20);

function selectWorkspaces(filters) {
  const all = listWorkspaces().filter((ws) => ws.scripts.test);
  if (filters.length === 0) return all;
  const picked = all.filter((ws) =>
    filters.some((f) => ws.name === f || ws.path === f.replace(/\/$/, "") || ws.name === `@parley/${f}` || ws.path.endsWith(`/${f}`)),
  );
  if (picked.length === 0) throw new Error(`no workspace matches ${filters.join(" ")}; known: ${all.map((ws) => ws.path).join(", ")}`);
  return picked;
}

let current; // the running workspace's process group leader, for Ctrl-C
// Ends what a workspace's run left in its process group (the test kit's reapGroup, set once built).
let reapGroup = () => [];

/** Runs one command in its own process group so a timeout can end it and everything it started. */
function runGroup(command, args, { cwd, env }) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "inherit", "inherit"], detached: true });
    current = child;
    const timer = setTimeout(() => {
      process.stderr.write(red(`\n✗ timed out after ${timeoutMinutes} min; stopping ${cwd}\n`));
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch (error) {
        process.stderr.write(`could not kill the test process group: ${error.message}\n`);
      }
    }, timeoutMinutes * 60_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      process.stderr.write(`${red("✗")} could not start ${command}: ${error.message}\n`);
      resolve(1);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      const left = reapGroup(child.pid);
      if (left.length > 0) {
        const names = left.map((p) => `${p.command} (${p.pid})`).join(", ");
        process.stderr.write(`${yellow("!")} ended what ${cwd} left running: ${names}\n`);
      }
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

async function runWorkspace(ws, env, reportDir) {
  const started = Date.now();
  const result = { ws, passed: 0, failed: 0, skipped: 0, code: 0, seconds: 0, note: "" };
  process.stdout.write(`\n${bold(`━━ ${ws.path} (${ws.name})`)}\n`);
  // vitest, or jest (examples/expo: React Native's test preset is jest's); both write the same JSON counts.
  const jest = /\bjest\b/.test(ws.scripts.test);
  if (jest || /\bvitest\b/.test(ws.scripts.test)) {
    const report = join(reportDir, `${ws.name.replace(/[^\w-]/g, "_")}.json`);
    result.code = await runGroup(
      join(ROOT, "node_modules", ".bin", jest ? "jest" : "vitest"),
      jest
        ? ["--ci", "--passWithNoTests", "--json", `--outputFile=${report}`]
        : ["run", "--passWithNoTests", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`],
      { cwd: ws.dir, env },
    );
    if (existsSync(report)) {
      const json = JSON.parse(readFileSync(report, "utf8"));
      result.passed = json.numPassedTests ?? 0;
      result.failed = json.numFailedTests ?? 0;
      result.skipped = (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
      // A file that fails to load, or an error outside any test, fails the run but counts no test.
      if (result.code !== 0 && result.failed === 0) {
        result.failed = 1;
        result.note = "errors outside tests (see above)";
      }
    } else if (result.code !== 0) {
      result.failed = 1;
      result.note = `${jest ? "jest" : "vitest"} did not finish (see above)`;
    }
  } else {
    // Not vitest: count the whole script as one test.
    result.code = await runGroup("npm", ["run", "test"], { cwd: ws.dir, env });
    if (result.code === 0) result.passed = 1;
    else result.failed = 1;
  }
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

async function main() {
  const filters = process.argv.slice(2);
  const servers = [];
  const stopServers = () => Promise.allSettled(servers.map((server) => server.close()));
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping tests and test servers…\n`);
      // The workspace runs in its own process group (see runGroup), so pass the signal on.
      if (current?.exitCode === null) {
        try {
          process.kill(-current.pid, "SIGTERM");
        } catch (error) {
          process.stderr.write(`could not stop the running tests: ${error.message}\n`);
        }
      }
      void stopServers().then(() => process.exit(130));
    });
  }

  const failedBuilds = await ensureBuilt({ keepGoing: true });
  const testkit = await import("@parley/testkit");
  reapGroup = testkit.reapGroup;

  const workspaces = selectWorkspaces(filters);
  // Colours only on a terminal: CI logs stay plain text.
  const env = { ...process.env, ...(process.stdout.isTTY || process.env.FORCE_COLOR ? {} : { NO_COLOR: "1" }) };
  const infra = process.env.PARLEY_TEST_INFRA ?? "auto";
  if (!env.TEST_REDIS_URL || !env.TEST_DATABASE_URL) {
    if (infra !== "docker" && !(infra === "auto" && (await testkit.dockerAvailable()))) {
      testkit.ensureServerBinaries({ log: step });
    }
    step("starting Redis and PostgreSQL for this run…");
    const [redis, pg] = await Promise.all([
      env.TEST_REDIS_URL ? undefined : testkit.startRedis({ infra }),
      env.TEST_DATABASE_URL ? undefined : testkit.startPostgres({ infra }),
    ]);
    if (redis) {
      servers.push(redis);
      env.TEST_REDIS_URL = redis.url;
    }
    if (pg) {
      servers.push(pg);
      env.TEST_DATABASE_URL = pg.url;
    }
  }
  step(`Redis ${env.TEST_REDIS_URL}, PostgreSQL ${env.TEST_DATABASE_URL}`);

  // The machine programs the chosen workspaces' tests drive (package.json "parley.testTools"),
  // installed as root like the servers above; a workspace whose tools cannot be had is not run
  // and fails with one line saying how to get them.
  const stillMissing = ensureTools(workspaces.flatMap((ws) => ws.testTools), { log: step });

  const results = [];
  const reportDir = mkdtempSync(join(tmpdir(), "parley-test-"));
  try {
    for (const ws of workspaces) {
      const lacking = ws.testTools.filter((tool) => stillMissing.includes(tool));
      if (lacking.length > 0) {
        const note = `needs ${lacking.join(", ")}: ${installHint(lacking)}`;
        process.stdout.write(`\n${bold(`━━ ${ws.path} (${ws.name})`)}\n${red("✗")} not run: ${note}\n`);
        results.push({ ws, passed: 0, failed: 1, skipped: 0, code: 1, seconds: 0, note });
        continue;
      }
      results.push(await runWorkspace(ws, env, reportDir));
    }
  } finally {
    rmSync(reportDir, { recursive: true, force: true });
    await stopServers();
  }

  const totals = { passed: 0, failed: failedBuilds.length, skipped: 0 };
  process.stdout.write(`\n${bold("━━ summary")}\n`);
  for (const name of failedBuilds) process.stdout.write(`  ${red("✗")} ${name.padEnd(28)} build failed\n`);
  for (const r of results) {
    totals.passed += r.passed;
    totals.failed += r.failed;
    totals.skipped += r.skipped;
    const mark = r.failed > 0 || r.code !== 0 ? red("✗") : r.passed > 0 ? green("✓") : yellow("-");
    const counts = `${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ""}`;
    process.stdout.write(`  ${mark} ${r.ws.path.padEnd(28)} ${counts.padEnd(34)} ${dim(`${r.seconds.toFixed(1)} s`)}${r.note ? `  ${yellow(r.note)}` : ""}\n`);
  }
  process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ""}\n`);
  const ok = totals.failed === 0 && results.every((r) => r.code === 0);
  process.exitCode = ok ? 0 : 1;
}

main().catch((error) => {
  process.stderr.write(`${red("✗")} npm test could not run: ${error.stack ?? error.message}\n`);
  process.stdout.write(`\n0 passed, 1 failed\n`);
  process.exitCode = 1;
});
