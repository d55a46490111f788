// Builds the services' images from the repository's Dockerfile with buildah, on the local
// base image instead of the official one (no registry is reachable here).
import { createWriteStream, existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../lib.mjs";
import { CACHE_DIR, buildahArgv } from "./buildah.mjs";

export const SERVICES = ["gateway", "persister", "delivery"];
export const imageName = (service) => `localhost/parley-${service}:smoke`;

/**
 * The machine's own npm CA setting, for the npm installs inside the build: a machine behind
 * a TLS-inspecting proxy trusts its CA through npm's `cafile` or NODE_EXTRA_CA_CERTS, and the
 * build's npm must too. It is mounted for the build's RUN steps only (`--volume`), so nothing
 * of it is in any layer of the image.
 */
function caVolumes() {
  const file = process.env.npm_config_cafile ?? process.env.NODE_EXTRA_CA_CERTS;
  if (!file || !existsSync(file)) return [];
  const npmrc = join(CACHE_DIR, "build-npmrc");
  writeFileSync(npmrc, "cafile=/etc/parley-build-ca.crt\n");
  return ["--volume", `${file}:/etc/parley-build-ca.crt:ro`, "--volume", `${npmrc}:/root/.npmrc:ro`];
}

/**
 * `buildah bud` of one service; its output goes to `logFile`. --layers keeps each step as a
 * cached layer in the images' store: the manifests and build stages do not depend on SERVICE,
 * so the second and third image reuse them, and a later run reuses what did not change.
 */
export function buildImage(service, { base, logFile }) {
  mkdirSync(join(logFile, ".."), { recursive: true });
  const { command, args, env } = buildahArgv([
    "bud",
    "--isolation", "chroot",
    "--layers",
    "--file", join(ROOT, "Dockerfile"),
    "--build-arg", `NODE_IMAGE=${base}`,
    "--build-arg", `SERVICE=${service}`,
    ...caVolumes(),
    "--tag", imageName(service),
    ROOT,
  ]);
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile);
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.once("error", reject);
    child.once("close", (code) => {
      log.end();
      if (code === 0) resolve();
      else {
        const tail = readFileSync(logFile, "utf8").trim().split("\n").slice(-20).join("\n");
        reject(new Error(`buildah bud of ${service} exited ${code} (log: ${logFile}):\n${tail}`));
      }
    });
  });
}
