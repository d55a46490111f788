import type { ChildProcess } from "node:child_process";

// Children still running when this process ends (a crash, a forgotten stop, a Ctrl-C or a
// SIGTERM from a runner that gives up) are killed so they do not outlive the test run and hold
// ports. A SIGKILL cannot be caught: `npm test` ends what is left in each workspace's process
// group after its run (reapGroup), and tests keep their servers in that group (not detached).
const live = new Set<ChildProcess>();
const killAll = () => {
  for (const child of live) child.kill("SIGKILL");
};
process.once("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  const onSignal = () => {
    // A process with a handler of its own (`npm start` stops the services first and the
    // databases last) decides for itself; otherwise the signal would have ended this process
    // at once, so the children go with it and the signal is re-raised with its default action.
    if (process.listenerCount(signal) > 1) return;
    killAll();
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  };
  process.on(signal, onSignal);
}

/** Kills `child` if it is still running when this process ends. */
export function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  child.once("error", () => live.delete(child));
}
