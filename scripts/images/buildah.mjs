// buildah as the image scripts use it: root and chroot isolation, which is what works on a
// machine without a container engine (a CI sandbox), with the overlay storage driver where the
// kernel lets root mount overlays, else vfs (every layer a full copy: several times slower, and
// deleting layers takes minutes on a busy disk). Everything lives in a store of its own under the
// cache directory, so these runs never touch another buildah or podman store on the machine and
// the images (the base above all) are kept between runs, also for a fresh clone.
import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/**
 * The cache directory: PARLEY_IMAGES_CACHE, else /var/cache/parley-images as root (outside
 * the clone, so CI's fresh clones on the same machine reuse it), else ~/.cache/parley-images.
 */
export const CACHE_DIR =
  process.env.PARLEY_IMAGES_CACHE ?? (process.getuid?.() === 0 ? "/var/cache/parley-images" : join(homedir(), ".cache", "parley-images"));

let driver;
const storeArgs = () => {
  if (!driver) throw new Error("chooseStorageDriver() first");
  return ["--root", join(CACHE_DIR, driver), "--runroot", join(CACHE_DIR, `run-${driver}`), "--storage-driver", driver];
};

/** The environment every buildah call gets: chroot isolation, no registry configuration needed. */
const ENV = { ...process.env, BUILDAH_ISOLATION: "chroot" };

/**
 * overlay when a scratch container of an overlay store mounts here, else vfs; PARLEY_IMAGES_DRIVER
 * (overlay or vfs) decides instead. Resolves with the driver's name.
 */
export async function chooseStorageDriver() {
  const forced = process.env.PARLEY_IMAGES_DRIVER;
  if (forced) {
    if (forced !== "overlay" && forced !== "vfs") throw new Error(`PARLEY_IMAGES_DRIVER=${forced}: overlay or vfs`);
    return (driver = forced);
  }
  driver = "overlay";
  try {
    const container = (await buildah(["from", "--quiet", "scratch"])).trim();
    try {
      await buildah(["mount", container]);
    } finally {
      await buildah(["rm", container]);
    }
  } catch {
    driver = "vfs"; // no overlay mounts here (a kernel or sandbox without them)
  }
  return driver;
}

export function ensureCacheDir() {
  mkdirSync(CACHE_DIR, { recursive: true });
}

/** buildah ARGS with its output captured; throws with the output when it fails. */
export async function buildah(args, { maxBuffer = 64 * 1024 * 1024 } = {}) {
  try {
    const { stdout } = await execFileAsync("buildah", [...storeArgs(), ...args], { env: ENV, maxBuffer });
    return stdout;
  } catch (error) {
    const output = `${error.stdout ?? ""}${error.stderr ?? ""}`.trim();
    throw new Error(`buildah ${args.join(" ")} failed: ${output.split("\n").slice(-15).join("\n") || error.message}`);
  }
}

/** The argv of a buildah command (for spawning long-running `buildah run`s). */
export const buildahArgv = (args) => ({ command: "buildah", args: [...storeArgs(), ...args], env: ENV });

/** The image's config and metadata (`buildah inspect --type image`), or undefined when there is no such image. */
export async function inspectImage(name) {
  try {
    return JSON.parse(await buildah(["inspect", "--type", "image", name]));
  } catch {
    return undefined; // not in the store (inspect fails with "image not known")
  }
}
