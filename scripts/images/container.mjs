// One run of an image with `buildah run` (chroot isolation), as close to the pod as buildah
// allows: the image's own user, a read-only root with only the manifest's volumes writable,
// the host's network (the test kit's Redis and Postgres listen on loopback).
import { spawn } from "node:child_process";
import { createWriteStream, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildah, buildahArgv } from "./buildah.mjs";

/**
 * Directories of the image bound read-only over themselves. buildah run has no --read-only,
 * so every top-level directory of the image's root is bound read-only instead (the symlinks
 * of a merged /usr, such as /bin, point into those); /proc, /dev and /sys are the runtime's.
 * The root directory itself and /run stay as the image has them: owned by root, not writable
 * by the user (the smoke test's probe checks that).
 */
function readOnlyBinds(rootfs, writable) {
  // /run is buildah's too (it puts /run/.containerenv there); like the root, it is owned by root.
  const skip = new Set(["proc", "dev", "sys", "run", ...writable.map((p) => p.replace(/^\//, "").split("/")[0])]);
  return readdirSync(rootfs)
    .filter((entry) => !skip.has(entry) && lstatSync(join(rootfs, entry)).isDirectory())
    .flatMap((entry) => ["--mount", `type=bind,src=${join(rootfs, entry)},dst=/${entry},ro=true`]);
}

/** The process ids under `pid` (its children, theirs, …), from /proc. */
function descendants(pid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name may hold spaces and parentheses: the parent pid follows the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      continue; // the process ended while we read
    }
  }
  const found = [];
  const walk = (p) => {
    for (const child of children.get(p) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

export class ImageContainer {
  constructor(image, config) {
    this.image = image;
    /** The image's OCI config (User, WorkingDir, Entrypoint, Cmd, Env, ExposedPorts). */
    this.config = config;
  }

  static async create(image) {
    const inspected = JSON.parse(await buildah(["inspect", "--type", "image", image]));
    const container = new ImageContainer(image, inspected.OCIv1.config);
    container.id = (await buildah(["from", "--quiet", "--pull=never", image])).trim();
    container.rootfs = (await buildah(["mount", container.id])).trim();
    return container;
  }

  /** The command the image runs when nothing overrides it (a Deployment sets none). */
  get defaultCommand() {
    return [...(this.config.Entrypoint ?? []), ...(this.config.Cmd ?? [])];
  }

  /**
   * Starts `argv` (default: the image's command) as the image's user with a read-only root and
   * tmpfs on `writable`; resolves nothing, returns a handle whose `exited` resolves with the exit code.
   */
  run({ argv = this.defaultCommand, env = {}, writable = [], workdir, logFile }) {
    const user = this.config.User;
    if (!user) throw new Error(`${this.image} sets no USER`);
    const { command, args, env: processEnv } = buildahArgv([
      "run",
      "--isolation", "chroot",
      // /etc is read-only too, so buildah must not write its own /etc/hosts into it.
      "--no-hosts",
      "--user", user,
      ...(workdir ? ["--workingdir", workdir] : []),
      ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
      ...readOnlyBinds(this.rootfs, writable),
      ...writable.flatMap((path) => ["--mount", `type=tmpfs,dst=${path}`]),
      this.id,
      "--",
      ...argv,
    ]);
    const child = spawn(command, args, { env: processEnv, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const log = logFile ? createWriteStream(logFile) : undefined;
    for (const stream of [child.stdout, child.stderr]) {
      stream.on("data", (chunk) => {
        output += chunk;
        log?.write(chunk);
      });
    }
    const exited = new Promise((resolve) => {
      child.once("error", (error) => resolve({ code: -1, output: `${output}\n${error.message}` }));
      child.once("close", (code, signal) => {
        log?.end();
        // buildah exits 1 for any failure of the command and names the command's own status.
        const status = /subprocess exited with status (\d+)/.exec(output)?.[1];
        resolve({ code: status !== undefined ? Number(status) : (code ?? (signal ? 128 : 1)), output });
      });
    });
    return {
      exited,
      output: () => output,
      /** The pid of the command itself (buildah runs it under helpers of its own), once it runs. */
      commandPid: () => {
        const exe = argv[0].split("/").at(-1);
        // By argv[0], not /proc/PID/comm: Node names its main thread, which renames the process's comm.
        return descendants(child.pid).find((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0].split("/").at(-1) === exe;
          } catch {
            return false;
          }
        });
      },
      /** Ends the command and buildah at once (a failed check must not leave a service running). */
      kill() {
        for (const pid of descendants(child.pid)) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            continue; // already gone
          }
        }
        child.kill("SIGKILL");
      },
    };
  }

  async remove() {
    if (this.id) await buildah(["rm", this.id]).catch(() => {});
  }
}
