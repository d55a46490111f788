import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export type ServiceName = "gateway" | "persister" | "delivery";

const serverOf = (service: ServiceName) => fileURLToPath(new URL(`../../../services/${service}/dist/server.js`, import.meta.url));

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One Parley service run as its own process from its built `dist/server.js`, exactly as
 * `npm start -w services/<name>` runs it, configured only by its environment. It can be
 * stopped (SIGTERM: the real drain) and started again on the same port, like a pod that
 * Kubernetes restarts.
 */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<number | null> | undefined;
  private lines: string[] = [];

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
    return this.child !== undefined;
  }

  /** Spawns the process and waits until `/readyz` answers 200. */
  async start(readyTimeoutMs = 30_000): Promise<void> {
    if (this.child) return;
    const portVariable = this.service === "gateway" ? "PORT" : "METRICS_PORT";
    const child = spawn(process.execPath, [serverOf(this.service)], {
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", LOG_LEVEL: "warn", POD_NAME: this.pod, [portVariable]: String(this.port), ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.lines = [];
    // The last lines only: enough to say why a start or a drain failed.
    const keep = (chunk: Buffer) => {
      this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      if (this.lines.length > 40) this.lines.splice(0, this.lines.length - 40);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    this.exit = once(child, "exit").then(([code]) => {
      if (this.child === child) this.child = undefined;
      return code as number | null;
    });
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`${this.pod} exited while starting:\n${this.output()}`);
      const status = await fetch(`${this.url}/readyz`).then((r) => r.status, () => 0);
      if (status === 200) return;
      await delay(100);
    }
    throw new Error(`${this.pod} was not ready within ${readyTimeoutMs} ms:\n${this.output()}`);
  }

  /** Sends SIGTERM (the drain) and resolves with the exit code once the process is gone. */
  async terminate(): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    child.kill("SIGTERM");
    return this.exit!;
  }

  /** Ends the process at once; for clean-up after a failed test. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill("SIGKILL");
    await this.exit;
  }

  output(): string {
    return this.lines.join("\n");
  }
}
