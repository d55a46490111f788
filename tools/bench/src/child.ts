import { fork, spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync } from "node:fs";

/**
 * A node child process of the bench (a service under test, a ceiling server or the load
 * generator), its output in a log file. stop() is safe to call twice: SIGTERM, then
 * SIGKILL if it has not exited within `graceMs`.
 */
export class BenchChild {
  readonly process: ChildProcess;
  private exited: Promise<number | null>;
  private stopping: Promise<void> | undefined;
  /** Called when the process exits without stop() having been called. */
  onUnexpectedExit: ((how: string) => void) | undefined;

  private constructor(readonly name: string, child: ChildProcess, logFd: number) {
    this.process = child;
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        closeSync(logFd);
        if (!this.stopping) this.onUnexpectedExit?.(signal ? `killed by ${signal}` : `exit code ${code}`);
        resolve(code);
      }),
    );
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get hasExited(): boolean {
    return this.process.exitCode !== null || this.process.signalCode !== null;
  }

  /** `nodeArgs` go before the script (e.g. `--cpu-prof`, which NODE_OPTIONS does not take). */
  static spawn(name: string, script: string, env: Record<string, string>, logFile: string, nodeArgs: string[] = []): BenchChild {
    const fd = openSync(logFile, "a");
    const child = spawn(process.execPath, [...nodeArgs, script], { env: { ...process.env, ...env }, stdio: ["ignore", fd, fd] });
    return new BenchChild(name, child, fd);
  }

  /**
   * With an IPC channel (the load generator). `serialization: "advanced"` (structured clone)
   * carries typed arrays as they are, instead of JSON.
   */
  static fork(name: string, script: string, logFile: string, nodeArgs: string[] = [], serialization: "json" | "advanced" = "json"): BenchChild {
    const fd = openSync(logFile, "a");
    const child = fork(script, [], { stdio: ["ignore", fd, fd, "ipc"], execArgv: nodeArgs, serialization });
    return new BenchChild(name, child, fd);
  }

  stop(graceMs = 10_000): Promise<void> {
    this.stopping ??= (async () => {
      if (this.hasExited) return;
      this.process.kill("SIGTERM");
      const timer = setTimeout(() => this.process.kill("SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(timer);
    })();
    return this.stopping;
  }
}

/** Polls `url` until it answers 2xx, or throws after `timeoutMs` (or when `child` dies). */
export async function waitReady(url: string, child: BenchChild, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.hasExited) throw new Error(`${child.name} exited before it was ready (see its log)`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet: poll again
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${child.name} not ready at ${url} within ${timeoutMs} ms`);
}
