// What a test run leaves behind. Each workspace's vitest runs as the leader of its own process
// group, and everything it starts without a group of its own (Redis, PostgreSQL, the services
// as processes, a Prometheus, a browser) stays in that group. Whatever is still in it once
// vitest has exited was orphaned by a path that skipped its stop (a worker torn down mid-file,
// a failure before an afterAll could run): it is ended here, and named, so no run leaves
// servers holding ports and memory for the next.
import { readdirSync, readFileSync } from "node:fs";

export interface GroupMember {
  pid: number;
  command: string;
}

/** The live processes in process group `pgid` (Linux's /proc). */
export function processesInGroup(pgid: number): GroupMember[] {
  const found: GroupMember[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found; // no /proc (not Linux): nothing to look at
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so split after the last ")".
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z") found.push({ pid: Number(entry), command: stat.slice(stat.indexOf("(") + 1, close) });
  }
  return found;
}

/** SIGKILLs every process left in group `pgid` and resolves with what it found. */
export function reapGroup(pgid: number): GroupMember[] {
  const left = processesInGroup(pgid);
  if (left.length === 0) return left;
  try {
    process.kill(-pgid, "SIGKILL");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error; // ESRCH: they ended on their own meanwhile
  }
  return left;
}
