// Linux pressure stall information (/proc/pressure/{cpu,io}): the share of wall time in which
// at least one task waited for a CPU or for I/O. CPU time per process (cpu-sampler.ts) cannot
// see a neighbour that only fills the disk; a commit stuck behind someone else's fsync shows
// up here as I/O pressure.
import { existsSync, readFileSync } from "node:fs";

export interface PressureSnapshot {
  at: number;
  /** "some" totals in microseconds, by resource; absent where the kernel has no PSI. */
  cpuUs?: number;
  ioUs?: number;
}

function someTotal(resource: "cpu" | "io"): number | undefined {
  const file = `/proc/pressure/${resource}`;
  if (!existsSync(file)) return undefined;
  const match = /^some .*total=(\d+)/m.exec(readFileSync(file, "utf8"));
  return match ? Number(match[1]) : undefined;
}

export function pressureSnapshot(): PressureSnapshot {
  const cpuUs = someTotal("cpu");
  const ioUs = someTotal("io");
  return { at: Date.now(), ...(cpuUs !== undefined ? { cpuUs } : {}), ...(ioUs !== undefined ? { ioUs } : {}) };
}

/** % of the interval in which some task stalled on CPU / on I/O. */
export interface Pressure {
  cpuSomePercent?: number;
  ioSomePercent?: number;
}

export function pressureBetween(a: PressureSnapshot, b: PressureSnapshot): Pressure {
  const wallUs = (b.at - a.at) * 1000;
  const percent = (x?: number, y?: number) => (x === undefined || y === undefined || wallUs <= 0 ? undefined : Math.round(((y - x) / wallUs) * 1000) / 10);
  const cpuSomePercent = percent(a.cpuUs, b.cpuUs);
  const ioSomePercent = percent(a.ioUs, b.ioUs);
  return { ...(cpuSomePercent !== undefined ? { cpuSomePercent } : {}), ...(ioSomePercent !== undefined ? { ioSomePercent } : {}) };
}
