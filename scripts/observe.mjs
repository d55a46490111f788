#!/usr/bin/env node
// `npm run observe`: a local Prometheus scraping the cluster `npm start` runs, with Parley's
// alert rules, so dashboards' queries and alerts can be tried against live numbers.
//
// Targets are `npm start`'s ports (README's table): gateways :3000 and :3001, the persister's
// metrics :9101, the delivery service's :9102, labelled as a Kubernetes scrape would label them
// (namespace "parley", pod). Rules: infra/prometheus/rules/*.rules.yml when they exist.
// Data in .data/prometheus (kept across runs). Ctrl-C stops it.
//
// Usage: npm run observe [-- --port=9090]   (the first free port from 9090 by default)
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { ROOT, bold, red, step } from "./lib.mjs";

const TARGETS = [
  { job: "parley-gateway", address: "127.0.0.1:3000", pod: "gateway-1" },
  { job: "parley-gateway", address: "127.0.0.1:3001", pod: "gateway-2" },
  { job: "parley/parley-workers", address: "127.0.0.1:9101", pod: "persister" },
  { job: "parley/parley-workers", address: "127.0.0.1:9102", pod: "delivery" },
];

function findPrometheus() {
  for (const dir of [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"].filter(Boolean)) {
    const candidate = join(dir, "prometheus");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here: the next directory
    }
  }
  return undefined;
}

const portFree = (port) =>
  new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

async function pickPort() {
  const asked = process.argv.find((a) => a.startsWith("--port="));
  if (asked) return Number(asked.slice("--port=".length));
  for (let port = 9090; port < 9140; port++) if (await portFree(port)) return port;
  throw new Error("no free port in 9090..9139");
}

function config(ruleFiles) {
  // Written by hand (no YAML library: root scripts run before `npm install`); JSON strings are valid YAML.
  const jobs = [...new Set(TARGETS.map((t) => t.job))];
  const lines = [
    "global:",
    "  scrape_interval: 5s",
    "  evaluation_interval: 5s",
    "rule_files:",
    ...(ruleFiles.length ? ruleFiles.map((f) => `  - ${JSON.stringify(f)}`) : ["  []"]),
    "scrape_configs:",
  ];
  for (const job of jobs) {
    lines.push(`  - job_name: ${JSON.stringify(job)}`, "    static_configs:");
    for (const t of TARGETS.filter((t) => t.job === job)) {
      lines.push(`      - targets: [${JSON.stringify(t.address)}]`, `        labels: { namespace: "parley", pod: ${JSON.stringify(t.pod)} }`);
    }
  }
  return `${lines.join("\n")}\n`.replace("rule_files:\n  []", "rule_files: []");
}

async function main() {
  const binary = findPrometheus();
  if (!binary) {
    process.stderr.write(`${red("✗")} no prometheus binary: install Debian's package (apt-get install --no-install-recommends prometheus)\n`);
    process.exitCode = 1;
    return;
  }
  const rulesDir = join(ROOT, "infra", "prometheus", "rules");
  const ruleFiles = existsSync(rulesDir) ? readdirSync(rulesDir).filter((f) => /\.rules\.ya?ml$/.test(f)).map((f) => join(rulesDir, f)) : [];
  const dir = join(ROOT, ".data", "prometheus");
  mkdirSync(join(dir, "data"), { recursive: true });
  const configFile = join(dir, "prometheus.yml");
  writeFileSync(configFile, config(ruleFiles));
  const port = await pickPort();
  step(`rules: ${ruleFiles.length ? ruleFiles.join(", ") : "none yet (infra/prometheus/rules/*.rules.yml)"}`);
  const child = spawn(
    binary,
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--web.enable-lifecycle", "--log.level=warn"],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => child.kill("SIGTERM"));
  child.once("exit", (code, signal) => {
    process.exitCode = signal === "SIGTERM" ? 0 : (code ?? 1);
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    if ((await fetch(`${url}/-/ready`).then((r) => r.status, () => 0)) === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (child.exitCode !== null) return;
  process.stdout.write(
    [
      "",
      bold("Prometheus is scraping npm start's cluster"),
      `  ui           ${url}   (targets: ${url}/targets, alerts: ${url}/alerts)`,
      `  targets      ${TARGETS.map((t) => t.address).join("  ")}`,
      `  config       ${configFile}   (edit the rules, then: curl -X POST ${url}/-/reload)`,
      "  Ctrl-C stops it",
      "",
    ].join("\n"),
  );
}

main().catch((error) => {
  process.stderr.write(`${red("✗")} npm run observe: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
