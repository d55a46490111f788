import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { killOnExit } from "./kill-on-exit.js";

/** The repository root (this file runs from libs/testkit/dist, or src in the testkit's own tests). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface SpawnedScript {
  child: ChildProcess;
  /** The exit code (null after a signal), once the process is gone. */
  exited: Promise<number | null>;
  /** The last lines it wrote to stdout and stderr, to say why a start or a drain failed. */
  output(): string;
}

export interface SpawnScriptOptions {
  args?: string[];
  /** How many output lines to keep (default 1,000). */
  keepLines?: number;
  /** Also copy its stderr to this process's, so a failing test shows the program's errors. */
  echoStderr?: boolean;
}

/**
 * One of the repository's built Node programs (`script` relative to the repository root) as
 * its own process, configured only by `env` over a minimal base (PATH, NODE_ENV=test,
 * LOG_LEVEL=warn): nothing leaks in from the test runner's environment.
 */
export function spawnNodeScript(script: string, env: Record<string, string>, options: SpawnScriptOptions = {}): SpawnedScript {
  const path = `${REPO_ROOT}${script}`;
  if (!existsSync(path)) throw new Error(`${script} is missing: build first (npm run build)`);
  const keepLines = options.keepLines ?? 1_000;
  const child = spawn(process.execPath, [path, ...(options.args ?? [])], {
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  killOnExit(child);
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
 * A built Node program run as its own process, exactly as `npm start` runs it, that can be
 * stopped (SIGTERM, so a service drains) and started again on the same port, like a pod that
 * Kubernetes restarts. The last 40 output lines are kept, to say why a start or a drain failed.
 */
export class NodeScriptProcess {
  private current: SpawnedScript | undefined;
  private lastOutput = "";
  /** Set by terminate() and kill() until the process is gone: that exit was asked for. */
  private stopping = false;
  /** Every exit nobody asked for (a crash), with the last output lines: a fault test asserts there is none. */
  readonly unexpectedExits: { code: number | null; signal: NodeJS.Signals | null; output: string }[] = [];

  constructor(private readonly options: NodeScriptOptions) {}

  get name(): string {
    return this.options.name;
  }

  get running(): boolean {
    return this.current !== undefined;
  }

  /** The running process's id. */
  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  /** Spawns the process and waits until `readyUrl` answers 200. */
  async start(readyTimeoutMs = 30_000): Promise<void> {
    if (this.current) return;
    const spawned = spawnNodeScript(this.options.script, this.options.env, { args: this.options.args, keepLines: 40 });
    this.current = spawned;
    this.stopping = false;
    void spawned.exited.then((code) => {
      this.lastOutput = spawned.output();
      if (!this.stopping) this.unexpectedExits.push({ code, signal: spawned.child.signalCode, output: this.lastOutput });
      this.stopping = false;
      if (this.current === spawned) this.current = undefined;
    });
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.current) throw new Error(`${this.name} exited while starting:\n${this.output()}`);
      const status = await fetch(this.options.readyUrl, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status, () => 0);
      if (status === 200) return;
      await delay(100);
    }
    throw new Error(`${this.name} was not ready within ${readyTimeoutMs} ms:\n${this.output()}`);
  }

  /** Sends SIGTERM (a service's drain) and resolves with the exit code once the process is gone. */
  async terminate(): Promise<number | null> {
    const current = this.current;
    if (!current) return null;
    this.stopping = true;
    current.child.kill("SIGTERM");
    return current.exited;
  }

  /** Ends the process at once; for clean-up. */
  async kill(): Promise<void> {
    const current = this.current;
    if (!current) return;
    this.stopping = true;
    current.child.kill("SIGKILL");
    await current.exited;
  }

  /** The running process's last lines, or those of the last one to exit. */
  output(): string {
    return this.current?.output() ?? this.lastOutput;
  }
}
