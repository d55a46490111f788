import { spawnSync } from "node:child_process";

export interface PromtoolResult {
  status: number | null;
  output: string;
}

let checked: string | undefined;

/**
 * Fails with what to do when promtool is not on the PATH: it ships with Debian's `prometheus`
 * package, which `npm test` installs as root (package.json "parley.testTools").
 */
export function requirePromtool(): void {
  if (checked) return;
  const probe = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      "promtool is not installed (or not on the PATH): the rule checks need it. " +
        "Install Debian's prometheus package (`apt-get install prometheus`, which `npm test` does as root) and run the tests again.",
    );
  }
  checked = (probe.stdout || probe.stderr).split("\n")[0];
}

export function promtool(args: string[], cwd: string): PromtoolResult {
  requirePromtool();
  const run = spawnSync("promtool", args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
