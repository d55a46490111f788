import { spawn, type ChildProcess } from "node:child_process";
import { killOnExit } from "./kill-on-exit.js";

export interface ManagedProcessOptions {
  /** Label for errors, e.g. "redis-server". */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  uid?: number;
  gid?: number;
  env?: NodeJS.ProcessEnv;
  /** Resolves true once the server answers; polled every 50 ms. */
  isReady: () => Promise<boolean>;
  /** How long start() waits for readiness (default 30 s). */
  readyTimeoutMs?: number;
  /**
   * Own process group: a Ctrl-C in the terminal then reaches only our process, which can
   * stop the services first and the databases last (`npm start`). Tests leave it off so
   * killing a test run's process group also ends its servers.
   */
  detached?: boolean;
  /** The signal stop() sends: SIGINT is PostgreSQL's "fast" shutdown, SIGTERM Redis's. */
  stopSignal?: NodeJS.Signals;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A server binary run as a child process that can be stopped and started again with the
 * same arguments (so the same port and data). The last 50 output lines are kept so a
 * failure to start says why.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private output: string[] = [];

  constructor(private readonly options: ManagedProcessOptions) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const { name, command, args, cwd, uid, gid, env, detached } = this.options;
    const child = spawn(command, args, {
      cwd,
      uid,
      gid,
      detached: detached ?? false,
      env: env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    killOnExit(child);
    this.output = [];
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      if (this.output.length > 50) this.output.splice(0, this.output.length - 50);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    let exitInfo: string | undefined;
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        exitInfo = signal ? `signal ${signal}` : `code ${code}`;
        if (this.child === child) this.child = undefined;
        resolve();
      });
      child.once("error", (error) => {
        exitInfo = error.message;
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      if (exitInfo !== undefined) {
        throw new Error(`${name} exited while starting (${exitInfo}):\n${this.output.join("\n")}`);
      }
      if (await this.options.isReady().catch(() => false)) return;
      await delay(50);
    }
    await this.stop();
    throw new Error(`${name} did not become ready in time:\n${this.output.join("\n")}`);
  }

  /** Stops the server and waits for it to exit; after 10 s it is killed. Safe when stopped. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(this.options.stopSignal ?? "SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(killer);
  }

  /** SIGKILL (a crash: no shutdown work, nothing flushed) and waits for the exit. Safe when stopped. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill("SIGKILL");
    await this.exited;
  }

  recentOutput(): string {
    return this.output.join("\n");
  }
}
