import { readdir, readFile } from "node:fs/promises";

export interface ProcessSample {
  /** CPU seconds used so far (user + system). */
  cpuSeconds: number;
  /** Resident memory, bytes. */
  rssBytes: number;
  /** Open file descriptors (sockets included). */
  fds: number;
}

const TICKS_PER_SECOND = 100; // Linux's USER_HZ on every architecture Parley runs on
const PAGE_BYTES = 4096;

/** One process's CPU, memory and descriptors from /proc (Linux); undefined once it is gone. */
export async function sampleProcess(pid: number): Promise<ProcessSample | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    const statm = await readFile(`/proc/${pid}/statm`, "utf8");
    const rssBytes = Number(statm.split(" ")[1]) * PAGE_BYTES;
    const fds = (await readdir(`/proc/${pid}/fd`)).length;
    return { cpuSeconds, rssBytes, fds };
  } catch {
    return undefined;
  }
}
