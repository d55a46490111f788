import type { ChildProcess } from "node:child_process";

// Children still running when this process exits (a crash, a forgotten stop) are killed so
// they do not outlive the test run and hold ports.
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** Kills `child` if it is still running when this process exits. */
export function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  child.once("error", () => live.delete(child));
}
