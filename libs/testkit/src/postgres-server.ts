import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { startDockerServer } from "./docker-server.js";
import { useDocker, type InfraMode } from "./docker.js";
import { freePort } from "./free-port.js";
import { ManagedProcess } from "./managed-process.js";
import { ensureServerBinaries } from "./server-binaries.js";
import { localServerHandle, type ServerHandle } from "./server-handle.js";
import { chownTree, postgresServiceUser } from "./service-user.js";

const run = promisify(execFile);

export interface StartPostgresOptions {
  /** Port to listen on (default: a free one). */
  port?: number;
  /**
   * Data directory; initialised when empty and kept on close() when given
   * (default: a temp dir, removed on close()).
   */
  dataDir?: string;
  /**
   * Crash safety. false (default, for tests) turns fsync, synchronous_commit and
   * full_page_writes off: several times faster, and a test database is thrown away anyway.
   */
  durable?: boolean;
  /** `auto` (default): a container when a Docker engine answers, else local binaries. */
  infra?: InfraMode;
  /** Superuser role, also the URL's user (default "parley"). */
  user?: string;
  /** Own process group (see ManagedProcessOptions.detached). */
  detached?: boolean;
  /** max_connections (default 300: every test file opens pools, services open more). */
  maxConnections?: number;
  /**
   * Serve TLS (`ssl=on`) with this certificate and key (PEM files; see makeTestCertificates).
   * Plain connections are still accepted, so a client's `sslmode` decides. Local servers only.
   */
  tls?: { certFile: string; keyFile: string };
}

/** Resolves true once PostgreSQL answers a query (not merely accepts TCP). */
async function answers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 1, idle_timeout: 1, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false; // refused or "starting up": the caller polls again
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Starts a throwaway (or, with dataDir, persistent) PostgreSQL on loopback. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<ServerHandle> {
  const role = options.user ?? "parley";
  const maxConnections = String(options.maxConnections ?? 300);
  const speed = options.durable ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"];
  if (options.tls && options.infra !== "local") throw new Error("startPostgres: tls needs infra: \"local\"");
  if (await useDocker(options.infra)) {
    return startDockerServer({
      image: "postgres:15",
      containerPort: 5432,
      command: ["postgres", "-c", `max_connections=${maxConnections}`, ...speed],
      env: { POSTGRES_USER: role, POSTGRES_HOST_AUTH_METHOD: "trust", POSTGRES_DB: "postgres" },
      url: (port) => `postgres://${role}@127.0.0.1:${port}/postgres`,
      // The image starts the server twice: once to run its init scripts, then for real.
      readyLog: "database system is ready to accept connections",
      readyLogTimes: 2,
    });
  }

  const binaries = ensureServerBinaries();
  const user = postgresServiceUser();
  const port = options.port ?? (await freePort());
  const url = `postgres://${role}@127.0.0.1:${port}/postgres`;

  // Our own temp dir holds the unix socket (its path must stay under ~100 bytes, which a
  // data dir deep in a checkout may not) and, unless one was given, the data.
  const scratch = await mkdtemp(join(tmpdir(), "parley-pg-"));
  const ownData = options.dataDir === undefined;
  const dataDir = resolve(options.dataDir ?? join(scratch, "data"));
  await mkdir(dataDir, { recursive: true });
  chownTree(scratch, user);
  chownTree(dataDir, user);

  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    // trust auth on loopback only: this server never listens beyond 127.0.0.1.
    await run(
      binaries.initdb,
      ["-D", dataDir, "-U", role, "-A", "trust", "-E", "UTF8", "--locale=C", ...(options.durable ? [] : ["--no-sync"])],
      { uid: user.uid, gid: user.gid, cwd: scratch },
    ).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`initdb failed in ${dataDir}: ${error.stderr ?? error.message}`);
    });
  }

  // PostgreSQL reads the key only when its owner is the server's user and nobody else may read it.
  const tls: string[] = [];
  if (options.tls) {
    const certFile = join(scratch, "server.crt");
    const keyFile = join(scratch, "server.key");
    await copyFile(options.tls.certFile, certFile);
    await copyFile(options.tls.keyFile, keyFile);
    await chmod(keyFile, 0o600);
    chownTree(scratch, user);
    tls.push("-c", "ssl=on", "-c", `ssl_cert_file=${certFile}`, "-c", `ssl_key_file=${keyFile}`);
  }

  const server = new ManagedProcess({
    name: "postgres",
    command: binaries.postgres,
    args: [
      "-D", dataDir,
      "-p", String(port),
      "-h", "127.0.0.1",
      "-k", scratch,
      "-c", `max_connections=${maxConnections}`,
      ...speed,
      ...tls,
    ],
    cwd: scratch,
    uid: user.uid,
    gid: user.gid,
    detached: options.detached,
    isReady: () => answers(url),
    // SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, data stays consistent.
    stopSignal: "SIGINT",
    readyTimeoutMs: 60_000,
  });
  try {
    await server.start();
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }

  return localServerHandle(url, port, server, async () => {
    await rm(scratch, { recursive: true, force: true });
    if (ownData) await rm(dataDir, { recursive: true, force: true });
  });
}
