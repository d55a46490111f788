import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDockerServer } from "./docker-server.js";
import { useDocker, type InfraMode } from "./docker.js";
import { freePort } from "./free-port.js";
import { ManagedProcess } from "./managed-process.js";
import { redisPing } from "./resp-ping.js";
import { ensureServerBinaries } from "./server-binaries.js";
import { localServerHandle, type ServerHandle } from "./server-handle.js";

export interface StartRedisOptions {
  /** Port to listen on (default: a free one). */
  port?: number;
  /** Working directory; kept on close() when given (default: a temp dir, removed on close()). */
  dir?: string;
  /** `auto` (default): a container when a Docker engine answers, else local redis-server. */
  infra?: InfraMode;
  /**
   * Keep data across restarts of the process in `dir` (append-only file, fsync every
   * second), for `npm start`. Default false: tests want nothing on disk.
   */
  persist?: boolean;
  /** Own process group (see ManagedProcessOptions.detached). */
  detached?: boolean;
  /** Extra `redis-server` arguments, e.g. ["--databases", "64"]. */
  args?: string[];
}

// Tests must behave like production: nothing written to disk, and a full Redis refuses
// writes instead of evicting queue keys (the services refuse any other policy).
const BASE_ARGS = ["--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"];
const PERSIST_ARGS = ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"];

/** Starts a throwaway Redis on loopback. */
export async function startRedis(options: StartRedisOptions = {}): Promise<ServerHandle> {
  if (await useDocker(options.infra)) {
    return startDockerServer({
      image: "redis:7",
      containerPort: 6379,
      command: ["redis-server", ...BASE_ARGS, ...(options.args ?? [])],
      url: (port) => `redis://127.0.0.1:${port}`,
      readyLog: "Ready to accept connections",
    });
  }
  const port = options.port ?? (await freePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "parley-redis-")));
  await mkdir(dir, { recursive: true });
  const server = redisServerProcess({ port, dir, args: [...(options.persist ? PERSIST_ARGS : BASE_ARGS), ...(options.args ?? [])], detached: options.detached });
  await server.start();
  return localServerHandle(`redis://127.0.0.1:${port}`, port, server, async () => {
    if (ownDir) await rm(dir, { recursive: true, force: true });
  });
}

/**
 * A local `redis-server` on loopback at `port`, working in `dir`, not yet started: startRedis
 * and the topologies (redis-topologies.ts) run their nodes through it. `args` come last, so
 * they override the defaults (`--maxmemory-policy`, `--save`).
 */
export function redisServerProcess(opts: { port: number; dir: string; args: string[]; detached?: boolean; name?: string }): ManagedProcess {
  const { redisServer } = ensureServerBinaries();
  return new ManagedProcess({
    name: opts.name ?? "redis-server",
    command: redisServer,
    args: ["--port", String(opts.port), "--bind", "127.0.0.1", "--dir", opts.dir, "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning", ...opts.args],
    cwd: opts.dir,
    detached: opts.detached,
    isReady: () => redisPing(opts.port),
    stopSignal: "SIGTERM",
  });
}

/** What a test Redis runs with: nothing on disk, and noeviction (the services refuse any other policy). */
export const TEST_REDIS_ARGS: readonly string[] = BASE_ARGS;
