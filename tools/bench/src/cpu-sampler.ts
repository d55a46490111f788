// Per-process CPU from /proc: utime + stime of every process below the orchestrator,
// grouped by role (the children main.ts names, redis-server, every postgres backend),
// so a run can say where the two cores went.
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const open = text.indexOf("(");
    const close = text.lastIndexOf(")");
    const fields = text.slice(close + 2).split(" ");
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { pid, ppid: Number(fields[1]), comm: text.slice(open + 1, close), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined; // the process exited between readdir and read
  }
}

export interface CpuSnapshot {
  at: number;
  /** Ticks by role. */
  byRole: Record<string, number>;
  /** Whole-machine busy and total ticks from /proc/stat. */
  machineBusy: number;
  machineTotal: number;
  /** irq + softirq ticks: kernel work not charged to any process (loopback networking, mostly). */
  machineIrq: number;
}

export class CpuSampler {
  private readonly roles = new Map<number, string>();

  constructor(private readonly rootPid: number = process.pid) {
    this.roles.set(rootPid, "orchestrator");
  }

  /** Names a child process (its descendants count under the same role). */
  name(pid: number | undefined, role: string): void {
    if (pid !== undefined) this.roles.set(pid, role);
  }

  snapshot(): CpuSnapshot {
    const stats = new Map<number, ProcStat>();
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = readStat(Number(entry));
      if (stat) stats.set(stat.pid, stat);
    }
    const roleOf = (stat: ProcStat): string | undefined => {
      // Walk up to the nearest named ancestor; only processes below the orchestrator count.
      let named: string | undefined;
      for (let cur: ProcStat | undefined = stat, hops = 0; cur && hops < 64; cur = stats.get(cur.ppid), hops++) {
        if (cur.comm === "redis-server" && named === undefined) named = "redis";
        if (cur.comm === "postgres" && named === undefined) named = "postgres";
        const role = this.roles.get(cur.pid);
        if (role !== undefined) return named ?? role;
        if (cur.pid === this.rootPid) return named ?? "orchestrator";
      }
      return undefined;
    };
    const byRole: Record<string, number> = {};
    for (const stat of stats.values()) {
      const role = roleOf(stat);
      if (role !== undefined) byRole[role] = (byRole[role] ?? 0) + stat.ticks;
    }
    const cpuLine = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (cpuLine[3] ?? 0) + (cpuLine[4] ?? 0);
    const total = cpuLine.slice(0, 8).reduce((a, b) => a + b, 0);
    const irq = (cpuLine[5] ?? 0) + (cpuLine[6] ?? 0);
    return { at: Date.now(), byRole, machineBusy: total - idle, machineTotal: total, machineIrq: irq };
  }
}

/** CPU use between two snapshots, in % of one core per role, plus the machine's busy %. */
export interface CpuUse {
  seconds: number;
  /**
   * By role, plus `softirq` (kernel irq/softirq time, charged to no process) and `others`:
   * busy time of processes outside the bench (other users of the machine).
   */
  percentOfCore: Record<string, number>;
  machineBusyPercent: number;
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const seconds = (b.at - a.at) / 1000;
  const percentOfCore: Record<string, number> = {};
  for (const role of new Set([...Object.keys(a.byRole), ...Object.keys(b.byRole)])) {
    const ticks = (b.byRole[role] ?? 0) - (a.byRole[role] ?? 0);
    percentOfCore[role] = seconds > 0 ? Math.round((ticks / TICKS_PER_SECOND / seconds) * 1000) / 10 : 0;
  }
  let ours = 0;
  for (const role of Object.keys(b.byRole)) ours += (b.byRole[role] ?? 0) - (a.byRole[role] ?? 0);
  const irq = b.machineIrq - a.machineIrq;
  percentOfCore.softirq = seconds > 0 ? Math.round((irq / TICKS_PER_SECOND / seconds) * 1000) / 10 : 0;
  const foreign = Math.max(0, b.machineBusy - a.machineBusy - ours - irq);
  percentOfCore.others = seconds > 0 ? Math.round((foreign / TICKS_PER_SECOND / seconds) * 1000) / 10 : 0;
  const total = b.machineTotal - a.machineTotal;
  const machineBusyPercent = total > 0 ? Math.round(((b.machineBusy - a.machineBusy) / total) * 1000) / 10 : 0;
  return { seconds, percentOfCore, machineBusyPercent };
}

/** The roles above half a core's percent, for a log line: "gateway-a 3.1, redis 1.2". */
export function busyRoles(use: CpuUse): string {
  return Object.entries(use.percentOfCore).filter(([, v]) => v > 0.5).map(([k, v]) => `${k} ${v}`).join(", ") || "nothing above 0.5";
}
