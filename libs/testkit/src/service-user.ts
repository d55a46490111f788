import { execFileSync } from "node:child_process";
import { chownSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The OS account a server process runs as; undefined ids mean "this process's own". */
export interface ServiceUser {
  name: string;
  uid?: number;
  gid?: number;
}

function idOf(name: string, flag: "-u" | "-g"): number | undefined {
  try {
    return Number(execFileSync("id", [flag, name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
  } catch {
    return undefined; // no such user
  }
}

/**
 * PostgreSQL refuses to run as root. As root we run it as `postgres` (made by the Debian
 * package) or, failing that, as a `parley` system user created here. As anyone else the
 * server simply runs as the current user.
 */
export function postgresServiceUser(): ServiceUser {
  if (process.getuid?.() !== 0) return { name: process.env.USER ?? "current user" };
  for (const name of ["postgres", "parley"]) {
    const uid = idOf(name, "-u");
    const gid = idOf(name, "-g");
    if (uid !== undefined && gid !== undefined) return { name, uid, gid };
  }
  execFileSync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "parley"], { stdio: "inherit" });
  const uid = idOf("parley", "-u");
  const gid = idOf("parley", "-g");
  if (uid === undefined || gid === undefined) throw new Error("useradd parley did not create a usable user");
  return { name: "parley", uid, gid };
}

/** Gives a directory tree to the service user (no-op when it runs as ourselves). */
export function chownTree(dir: string, user: ServiceUser): void {
  if (user.uid === undefined || user.gid === undefined) return;
  chownSync(dir, user.uid, user.gid);
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) chownTree(path, user);
    else chownSync(path, user.uid, user.gid);
  }
}

/** True when `user` can write into `dir` (every parent must also be searchable). */
export function canUserWrite(dir: string, user: ServiceUser): boolean {
  if (user.uid === undefined) return true;
  try {
    execFileSync("test", ["-w", dir, "-a", "-x", dir], { uid: user.uid, gid: user.gid, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
