import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "@parley/testkit";
import { stringify } from "yaml";
import { z } from "zod";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where a binary is on the PATH (plus /usr/bin, where Debian puts Prometheus), or undefined. */
export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory: try the next
    }
  }
  return undefined;
}

/** The prometheus binary, or an error that says how to get it (`npm test` installs it as root: package.json "parley.testTools"). */
export function prometheusBinary(name = "prometheus"): string {
  const found = findBinary(name);
  if (!found) {
    throw new Error(
      `the ${name} binary is missing: these tests run a real Prometheus. Install Debian's package ` +
        "(`apt-get install --no-install-recommends prometheus`, which also brings promtool; `npm test` does this as root) " +
        "or put a prometheus 2.x binary on the PATH.",
    );
  }
  return found;
}

export interface ScrapeTarget {
  /** The job label (what a ServiceMonitor or PodMonitor would name it). */
  job: string;
  /** host:port of the target's /metrics. */
  address: string;
  /** Target labels a Kubernetes scrape adds (namespace, pod, …). */
  labels: Record<string, string>;
  /** Prometheus' honor_labels: on a clash the scraped labels win (else they become exported_*). */
  honorLabels?: boolean;
}

export interface PrometheusConfigOptions {
  targets: ScrapeTarget[];
  ruleFiles: string[];
  intervalSeconds: number;
}

/**
 * A Prometheus configuration: one scrape job per job label with static targets, the rule
 * files, and short scrape and evaluation intervals so a test sees rates and rule results
 * within seconds.
 */
export function prometheusConfig(options: PrometheusConfigOptions): string {
  const jobs = new Map<string, ScrapeTarget[]>();
  for (const target of options.targets) jobs.set(target.job, [...(jobs.get(target.job) ?? []), target]);
  const interval = `${options.intervalSeconds}s`;
  return stringify({
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles,
    scrape_configs: [...jobs].map(([job, targets]) => ({
      job_name: job,
      metrics_path: "/metrics",
      honor_labels: targets.some((t) => t.honorLabels),
      static_configs: targets.map((t) => ({ targets: [t.address], labels: t.labels })),
    })),
  });
}

/** `promtool check config` of a configuration file (it also checks the rule files it names). */
export async function promtoolCheckConfig(configFile: string): Promise<{ ok: boolean; output: string }> {
  const promtool = findBinary("promtool");
  if (!promtool) throw new Error("promtool is missing: it comes with Debian's prometheus package");
  try {
    const { stdout, stderr } = await promisify(execFile)(promtool, ["check", "config", configFile]);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` || failed.message };
  }
}

export interface RunningPrometheus {
  url: string;
  configFile: string;
  api: PrometheusApi;
  output(): string;
  close(): Promise<void>;
}

/** Starts a real Prometheus with a temporary data directory on a free port and waits for /-/ready. */
export async function startPrometheus(options: PrometheusConfigOptions): Promise<RunningPrometheus> {
  const binary = prometheusBinary();
  const dir = mkdtempSync(join(tmpdir(), "parley-prometheus-"));
  const configFile = join(dir, "prometheus.yml");
  writeFileSync(configFile, prometheusConfig(options));
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      // Lets a test (or a person poking at it) reload after editing the rule files: POST /-/reload.
      "--web.enable-lifecycle",
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > 60) lines.splice(0, lines.length - 60);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = once(child, "exit");
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (!gone) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (gone) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`prometheus exited while starting:\n${lines.join("\n")}`);
    }
    if ((await fetch(`${url}/-/ready`).then((r) => r.status, () => 0)) === 200) {
      return { url, configFile, api: new PrometheusApi(url), output: () => lines.join("\n"), close };
    }
    await delay(100);
  }
  await close();
  throw new Error(`prometheus was not ready within 30 s:\n${lines.join("\n")}`);
}

// The HTTP API's answers (https://prometheus.io/docs/prometheus/latest/querying/api/), only
// the fields the tests read.
const ErrorAnswer = z.object({ status: z.literal("error"), errorType: z.string(), error: z.string() });
const Sample = z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]).optional() });
const QueryAnswer = z.discriminatedUnion("status", [
  z.object({
    status: z.literal("success"),
    data: z.object({
      resultType: z.enum(["vector", "matrix", "scalar", "string"]),
      result: z.unknown(),
    }),
    warnings: z.array(z.string()).optional(),
  }),
  ErrorAnswer,
]);
const Rule = z.object({
  name: z.string(),
  query: z.string(),
  health: z.string(),
  lastError: z.string().optional(),
  type: z.enum(["alerting", "recording"]),
  state: z.string().optional(),
});
const RulesAnswer = z.object({
  status: z.literal("success"),
  data: z.object({ groups: z.array(z.object({ name: z.string(), file: z.string(), rules: z.array(Rule) })) }),
});
const TargetsAnswer = z.object({
  status: z.literal("success"),
  data: z.object({
    activeTargets: z.array(
      z.object({ labels: z.record(z.string(), z.string()), health: z.string(), lastError: z.string(), scrapeUrl: z.string() }),
    ),
  }),
});

export type QueryResult =
  | { ok: true; resultType: string; /** vector/matrix elements; a scalar or string counts as one */ size: number; samples: z.infer<typeof Sample>[]; warnings: string[] }
  | { ok: false; errorType: string; error: string };

export type RuleStatus = z.infer<typeof Rule>;

/** The part of Prometheus' HTTP API the tests use, every answer checked with zod. */
export class PrometheusApi {
  constructor(readonly url: string) {}

  private async get(path: string, params: Record<string, string> = {}): Promise<unknown> {
    const response = await fetch(`${this.url}${path}?${new URLSearchParams(params)}`);
    return response.json();
  }

  /** An instant query at now: parses and evaluates `expr` (a parse error is an ok: false answer). */
  async query(expr: string): Promise<QueryResult> {
    // POST keeps long dashboard expressions out of the URL.
    const response = await fetch(`${this.url}/api/v1/query`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ query: expr }),
    });
    const answer = QueryAnswer.parse(await response.json());
    if (answer.status === "error") return { ok: false, errorType: answer.errorType, error: answer.error };
    const { resultType, result } = answer.data;
    const samples = resultType === "vector" || resultType === "matrix" ? z.array(Sample).parse(result) : [];
    const size = resultType === "vector" || resultType === "matrix" ? samples.length : 1;
    return { ok: true, resultType, size, samples, warnings: answer.warnings ?? [] };
  }

  async rules(): Promise<z.infer<typeof RulesAnswer>["data"]["groups"]> {
    return RulesAnswer.parse(await this.get("/api/v1/rules")).data.groups;
  }

  async targets(): Promise<z.infer<typeof TargetsAnswer>["data"]["activeTargets"]> {
    return TargetsAnswer.parse(await this.get("/api/v1/targets", { state: "active" })).data.activeTargets;
  }
}
