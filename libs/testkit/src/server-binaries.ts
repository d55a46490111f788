import { execFileSync, spawnSync } from "node:child_process";
import { accessSync, constants, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface ServerBinaries {
  redisServer: string;
  postgres: string;
  initdb: string;
  pgCtl: string;
}

export interface EnsureServerBinariesOptions {
  /** Install missing servers with apt-get when running as root (default true). */
  install?: boolean;
  /** Where progress lines go (default stderr). */
  log?: (line: string) => void;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false; // absent or not executable: the caller tries the next place
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * Debian keeps the PostgreSQL server binaries out of PATH, under
 * /usr/lib/postgresql/<major>/bin; the newest major wins.
 */
function postgresBinDirs(): string[] {
  const dirs: string[] = [];
  try {
    const majors = readdirSync("/usr/lib/postgresql")
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const major of majors) dirs.push(`/usr/lib/postgresql/${major}/bin`);
  } catch {
    // no Debian layout on this machine; PATH and the usual prefixes are tried instead
  }
  dirs.push("/usr/local/pgsql/bin", "/usr/pgsql/bin", "/opt/homebrew/bin", "/usr/local/bin", "/usr/bin");
  return dirs;
}

/** Finds the binaries without installing anything; missing ones are undefined. */
export function findServerBinaries(): Partial<ServerBinaries> {
  const found: Partial<ServerBinaries> = {};
  const redis = onPath("redis-server") ?? ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find(isExecutable);
  if (redis) found.redisServer = redis;
  for (const dir of postgresBinDirs()) {
    if (isExecutable(join(dir, "postgres")) && isExecutable(join(dir, "initdb")) && isExecutable(join(dir, "pg_ctl"))) {
      found.postgres = join(dir, "postgres");
      found.initdb = join(dir, "initdb");
      found.pgCtl = join(dir, "pg_ctl");
      break;
    }
  }
  return found;
}

function missingOf(found: Partial<ServerBinaries>): string[] {
  const missing: string[] = [];
  if (!found.redisServer) missing.push("redis-server");
  if (!found.postgres) missing.push("postgresql");
  return missing;
}

let ensured: ServerBinaries | undefined;

/**
 * Finds redis-server and the PostgreSQL server binaries. When some are missing and this
 * process is root on a machine with apt-get, installs them (Debian packages
 * `redis-server` and `postgresql`); otherwise throws, naming what to install.
 */
export function ensureServerBinaries(options: EnsureServerBinariesOptions = {}): ServerBinaries {
  if (ensured) return ensured;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let found = findServerBinaries();
  let missing = missingOf(found);
  if (missing.length > 0) {
    const canApt = options.install !== false && process.getuid?.() === 0 && onPath("apt-get") !== undefined;
    if (!canApt) {
      throw new Error(
        `missing server binaries: ${missing.join(", ")}. Install them (Debian/Ubuntu: ` +
          `sudo apt-get install -y redis-server postgresql; macOS: brew install redis postgresql), ` +
          `or point TEST_REDIS_URL / TEST_DATABASE_URL (REDIS_URL / DATABASE_URL for npm start) at running servers.`,
      );
    }
    const packages = missing.map((name) => (name === "postgresql" ? "postgresql" : "redis-server"));
    log(`[testkit] installing ${packages.join(" ")} with apt-get (one time, about a minute)…`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    // Another apt-get may hold dpkg's lock (an unattended upgrade, a parallel install): wait for it.
    const wait = ["-o", "DPkg::Lock::Timeout=600"];
    log("[testkit] apt-get update");
    execFileSync("apt-get", [...wait, "update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
    log(`[testkit] apt-get install -y ${packages.join(" ")}`);
    execFileSync("apt-get", [...wait, "install", "-y", "-qq", "--no-install-recommends", ...packages], {
      stdio: ["ignore", "ignore", "inherit"],
      env,
    });
    found = findServerBinaries();
    missing = missingOf(found);
    if (missing.length > 0) throw new Error(`apt-get install finished but still missing: ${missing.join(", ")}`);
    log("[testkit] installed");
  }
  ensured = found as ServerBinaries;
  return ensured;
}

/** The version line of a binary, for diagnostics ("redis-server v=7.0.15"). */
export function binaryVersion(file: string): string {
  const result = spawnSync(file, ["--version"], { encoding: "utf8" });
  return (result.stdout || result.stderr || "").trim().split("\n")[0] ?? "";
}
