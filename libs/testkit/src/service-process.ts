import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export type ServiceName = "gateway" | "persister" | "delivery";

/** A service's built entry point: what `npm start -w services/<name>` and the images run. */
export const serviceEntry = (service: ServiceName) => fileURLToPath(new URL(`../../../services/${service}/dist/server.js`, import.meta.url));

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SpawnedService {
  child: ChildProcess;
  /** The exit code (null after a signal), once the process is gone. */
  exited: Promise<number | null>;
  /** The last lines it wrote to stdout and stderr, to say why a start or a drain failed. */
  output(): string;
}

export interface SpawnServiceOptions {
  /** How many output lines to keep (default 1,000). */
  keepLines?: number;
  /** Also copy its stderr to this process's, so a failing test shows the service's errors. */
  echoStderr?: boolean;
}

/**
 * One Parley service as its own process, configured only by `env` over a minimal base
 * (PATH, NODE_ENV=test, LOG_LEVEL=warn): nothing leaks in from the test runner's environment.
 */
export function spawnService(service: ServiceName, env: Record<string, string>, options: SpawnServiceOptions = {}): SpawnedService {
  const keepLines = options.keepLines ?? 1_000;
  const child = spawn(process.execPath, [serviceEntry(service)], {
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > keepLines) lines.splice(0, lines.length - keepLines);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  if (options.echoStderr) child.stderr!.on("data", (chunk: Buffer) => process.stderr.write(chunk));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, exited, output: () => lines.join("\n") };
}

/**
 * A service process that can be stopped (SIGTERM: the real drain) and started again on the
 * same port, like a pod that Kubernetes restarts.
 */
export class ServiceProcess {
  private current: SpawnedService | undefined;
  private lastOutput = "";

  constructor(
    readonly service: ServiceName,
    /** The pod name (POD_NAME), and the `pod` label Prometheus gives the target. */
    readonly pod: string,
    /** The port of `/metrics`, `/healthz` and `/readyz` (the gateway's PORT, a worker's METRICS_PORT). */
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  /** Spawns the process and waits until `/readyz` answers 200. */
  async start(readyTimeoutMs = 30_000): Promise<void> {
    if (this.current) return;
    const portVariable = this.service === "gateway" ? "PORT" : "METRICS_PORT";
    const spawned = spawnService(this.service, { POD_NAME: this.pod, [portVariable]: String(this.port), ...this.env }, { keepLines: 40 });
    this.current = spawned;
    void spawned.exited.then(() => {
      this.lastOutput = spawned.output();
      if (this.current === spawned) this.current = undefined;
    });
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.current) throw new Error(`${this.pod} exited while starting:\n${this.output()}`);
      const status = await fetch(`${this.url}/readyz`).then((r) => r.status, () => 0);
      if (status === 200) return;
      await delay(100);
    }
    throw new Error(`${this.pod} was not ready within ${readyTimeoutMs} ms:\n${this.output()}`);
  }

  /** Sends SIGTERM (the drain) and resolves with the exit code once the process is gone. */
  async terminate(): Promise<number | null> {
    const current = this.current;
    if (!current) return null;
    current.child.kill("SIGTERM");
    return current.exited;
  }

  /** Ends the process at once; for clean-up after a failed test. */
  async kill(): Promise<void> {
    const current = this.current;
    if (!current) return;
    current.child.kill("SIGKILL");
    await current.exited;
  }

  /** The running process's last lines, or those of the last one to exit. */
  output(): string {
    return this.current?.output() ?? this.lastOutput;
  }
}
