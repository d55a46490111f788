import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { killOnExit } from "./kill-on-exit.js";

/** The repository root (this file runs from libs/testkit/dist). */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface NodeScriptOptions {
  /** For errors and logs, e.g. the pod name. */
  name: string;
  /** A built entry, relative to the repository root (e.g. `services/gateway/dist/server.js`). */
  script: string;
  args?: string[];
  /** Added to a minimal environment (PATH, NODE_ENV=test, LOG_LEVEL=warn): nothing else leaks in. */
  env: Record<string, string>;
  /** Polled until it answers 200. */
  readyUrl: string;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One of the repository's built Node programs run as its own process, exactly as `npm start`
 * runs it, configured only by its environment and arguments. It can be stopped (SIGTERM, so
 * a service drains) and started again on the same port. The last 40 output lines are kept,
 * to say why a start or a drain failed.
 */
export class NodeScriptProcess {
  private child: ChildProcess | undefined;
  private exit: Promise<number | null> | undefined;
  private lines: string[] = [];

  constructor(private readonly options: NodeScriptOptions) {}

  get name(): string {
    return this.options.name;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Spawns the process and waits until `readyUrl` answers 200. */
  async start(readyTimeoutMs = 30_000): Promise<void> {
    if (this.child) return;
    const script = `${ROOT}${this.options.script}`;
    if (!existsSync(script)) throw new Error(`${this.options.script} is missing: build first (npm run build)`);
    const child = spawn(process.execPath, [script, ...(this.options.args ?? [])], {
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", LOG_LEVEL: "warn", ...this.options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    killOnExit(child);
    this.lines = [];
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
      if (!this.child) throw new Error(`${this.name} exited while starting:\n${this.output()}`);
      const status = await fetch(this.options.readyUrl, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status, () => 0);
      if (status === 200) return;
      await delay(100);
    }
    throw new Error(`${this.name} was not ready within ${readyTimeoutMs} ms:\n${this.output()}`);
  }

  /** Sends SIGTERM (a service's drain) and resolves with the exit code once the process is gone. */
  async terminate(): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    child.kill("SIGTERM");
    return this.exit!;
  }

  /** Ends the process at once; for clean-up. */
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
