// buildah as the image scripts use it: root, chroot isolation and the vfs storage driver,
// which is what works on a machine without a container engine or overlay mounts (a CI
// sandbox). Everything lives in a store of its own under the cache directory, so these
// runs never touch another buildah or podman store on the machine and the images (the base
// above all) are kept between runs, also for a fresh clone.
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { run } from "../lib.mjs";

const execFileAsync = promisify(execFile);

/**
 * The cache directory: PARLEY_IMAGES_CACHE, else /var/cache/parley-images as root (outside
 * the clone, so CI's fresh clones on the same machine reuse it), else ~/.cache/parley-images.
 */
export const CACHE_DIR =
  process.env.PARLEY_IMAGES_CACHE ?? (process.getuid?.() === 0 ? "/var/cache/parley-images" : join(homedir(), ".cache", "parley-images"));

const STORE = ["--root", join(CACHE_DIR, "storage"), "--runroot", join(CACHE_DIR, "run"), "--storage-driver", "vfs"];

/** The environment every buildah call gets: chroot isolation, no registry configuration needed. */
const ENV = { ...process.env, BUILDAH_ISOLATION: "chroot", STORAGE_DRIVER: "vfs" };

export function ensureCacheDir() {
  mkdirSync(CACHE_DIR, { recursive: true });
}

/** buildah ARGS with its output captured; throws with the output when it fails. */
export async function buildah(args, { maxBuffer = 64 * 1024 * 1024 } = {}) {
  try {
    const { stdout } = await execFileAsync("buildah", [...STORE, ...args], { env: ENV, maxBuffer });
    return stdout;
  } catch (error) {
    const output = `${error.stdout ?? ""}${error.stderr ?? ""}`.trim();
    throw new Error(`buildah ${args.join(" ")} failed: ${output.split("\n").slice(-15).join("\n") || error.message}`);
  }
}

/** buildah ARGS with its output on this terminal (long builds show their progress); resolves with the exit code. */
export async function buildahLoud(args, options = {}) {
  const { code } = await run("buildah", [...STORE, ...args], { env: ENV, ...options });
  return code;
}

/** The argv of a buildah command (for spawning long-running `buildah run`s). */
export const buildahArgv = (args) => ({ command: "buildah", args: [...STORE, ...args], env: ENV });

/** The image's config and metadata (`buildah inspect --type image`), or undefined when there is no such image. */
export async function inspectImage(name) {
  try {
    return JSON.parse(await buildah(["inspect", "--type", "image", name]));
  } catch {
    return undefined; // not in the store (inspect fails with "image not known")
  }
}
