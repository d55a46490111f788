#!/usr/bin/env node
// `npm run images`: builds the three service images from the repository's Dockerfile with
// buildah and smoke-tests each one, on a machine without a container engine or registry.
//
// 1. buildah and debootstrap (apt-get as root when missing, else one line saying what is missing);
// 2. the local base image (scripts/images/base-image.mjs), built once and kept;
// 3. the images: `buildah bud --layers` of the Dockerfile per SERVICE on that base;
// 4. the smoke test (scripts/images/smoke.mjs) and what each image ships;
// 5. the cross-check of each image's config with the rendered manifests (tests/k8s,
//    image-manifests.test.ts, given the images' configs);
// 6. each image's size and the closing line `N passed, N failed`.
//
// Everything buildah keeps (the base, the layers, the npm cache of the builds' RUN steps) lives
// in PARLEY_IMAGES_CACHE (default /var/cache/parley-images as root), outside the clone.
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureBuilt } from "./ensure-built.mjs";
import { ROOT, bold, green, red, run, step } from "./lib.mjs";
import { ensureTools, installHint } from "./system-tools.mjs";
import { ensureBaseImage } from "./images/base-image.mjs";
import { CACHE_DIR, buildah, chooseStorageDriver, ensureCacheDir } from "./images/buildah.mjs";
import { buildImage, imageName, SERVICES } from "./images/build.mjs";
import { ImageContainer } from "./images/container.mjs";
import { smokeTest } from "./images/smoke.mjs";

const results = [];
const seconds = (since) => ((Date.now() - since) / 1000).toFixed(0);

async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    process.stdout.write(`${green("✓")} ${name} ${seconds(started)} s\n`);
  } catch (error) {
    results.push({ name, ok: false, detail: error.message });
    process.stdout.write(`${red("✗")} ${name}: ${error.message}\n`);
  }
}

/** Package names (node_modules/<name>/package.json, at any depth) under `dir`. */
function packagesUnder(dir) {
  const names = new Set();
  const walk = (modules) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith(".")) continue;
      const path = join(modules, entry);
      if (entry.startsWith("@")) {
        for (const scoped of readdirSync(path)) visit(join(path, scoped), `${entry}/${scoped}`);
      } else visit(path, entry);
    }
  };
  const visit = (path, name) => {
    names.add(name);
    // Workspace links point back into the image's /app: their own dependencies are listed at the top.
    if (!lstatSync(path).isSymbolicLink()) walk(join(path, "node_modules"));
  };
  walk(join(dir, "node_modules"));
  return names;
}

/** Every file under `dir` of the image's root, outside node_modules, as absolute paths in the image. */
function filesUnder(rootfs, dir) {
  const found = [];
  const walk = (path) => {
    for (const entry of readdirSync(join(rootfs, path), { withFileTypes: true })) {
      if (entry.name === "node_modules") continue;
      const inImage = `${path}/${entry.name}`;
      if (entry.isDirectory()) walk(inImage);
      else found.push(inImage);
    }
  };
  walk(dir);
  return found.sort();
}

/** The production dependency tree of one service by the lock file (`npm ls --omit=dev`), as package names. */
function productionPackages(service) {
  const output = execFileSync("npm", ["ls", "--all", "--omit=dev", "--parseable", "--workspace", `services/${service}`], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  const names = new Set();
  for (const line of output.split("\n")) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(line.trim());
    if (match) names.add(match[1]);
  }
  return names;
}

async function main() {
  const started = Date.now();
  const missing = ensureTools(["buildah", "debootstrap"], { log: step });
  if (missing.length > 0) {
    process.stdout.write(`${red("✗")} missing ${missing.join(" and ")}: ${installHint(missing)}\n0 passed, 1 failed\n`);
    process.exit(1);
  }
  ensureCacheDir();
  step(`images' store: ${await chooseStorageDriver()} driver, in ${CACHE_DIR}`);
  // Working containers an interrupted run left behind (the store is this script's alone).
  await buildah(["rm", "--all"]);
  const logDir = join(CACHE_DIR, "logs");
  mkdirSync(logDir, { recursive: true });
  await ensureBuilt({ quiet: true });
  const testkit = await import("@parley/testkit");

  let base;
  await check("local base image (debootstrap minbase + Node from the npm registry)", async () => {
    const t = Date.now();
    base = await ensureBaseImage({ log: step });
    step(`base image ${base.name}: ${base.built ? `built in ${seconds(t)} s` : "reused from the cache"}`);
  });
  if (!base) return finish(started);

  const built = [];
  for (const service of SERVICES) {
    await check(`${service} image builds from the Dockerfile`, async () => {
      const t = Date.now();
      step(`building ${imageName(service)} (log: ${join(logDir, `build-${service}.log`)})…`);
      await buildImage(service, { base: base.name, logFile: join(logDir, `build-${service}.log`) });
      step(`${service} image built in ${seconds(t)} s`);
      built.push(service);
    });
  }
  if (built.length < SERVICES.length) return finish(started);

  // One working container per image (a copy of its root in the vfs store) for every check below.
  const containers = {};
  try {
    for (const service of SERVICES) containers[service] = await ImageContainer.create(imageName(service));

    for (const service of SERVICES) {
      await check(`${service} image ships only the service's production dependencies`, async () => {
        const shipped = packagesUnder(join(containers[service].rootfs, "app"));
        const allowed = productionPackages(service);
        const extra = [...shipped].filter((name) => !allowed.has(name) && !name.startsWith("@parley/"));
        if (extra.length > 0) throw new Error(`also ships ${extra.slice(0, 10).join(", ")}${extra.length > 10 ? ` and ${extra.length - 10} more` : ""}`);
        const parley = [...shipped].filter((name) => name.startsWith("@parley/")).sort();
        const expected = [...allowed].filter((name) => name.startsWith("@parley/")).sort();
        if (JSON.stringify(parley) !== JSON.stringify(expected)) throw new Error(`workspace packages ${parley.join(", ")}; expected ${expected.join(", ")}`);
      });
    }

    step("smoke test: the images against a local Redis and PostgreSQL…");
    await smokeTest({ containers, testkit, check, log: step, logDir });

    // The image side of the manifests' cross-check, for tests/k8s: each image's config and the
    // files it holds, where the manifests' commands must find theirs.
    const configs = Object.fromEntries(SERVICES.map((s) => [s, { config: containers[s].config, files: filesUnder(containers[s].rootfs, "/app") }]));
    const configFile = join(logDir, "image-configs.json");
    writeFileSync(configFile, `${JSON.stringify(configs, null, 2)}\n`);
    await check("tests/k8s: the manifests run what the images contain (image-manifests.test.ts)", async () => {
      const report = join(logDir, "image-manifests.json");
      const { code } = await run(join(ROOT, "node_modules", ".bin", "vitest"), ["run", "test/image-manifests.test.ts", "--reporter=default", "--reporter=json", `--outputFile.json=${report}`], {
        cwd: join(ROOT, "tests", "k8s"),
        env: { ...process.env, PARLEY_IMAGE_CONFIGS: configFile },
      });
      const json = existsSync(report) ? JSON.parse(readFileSync(report, "utf8")) : {};
      if (code !== 0 || !json.numPassedTests || json.numPendingTests) {
        throw new Error(`vitest exited ${code} (${json.numFailedTests ?? "?"} failed, ${json.numPassedTests ?? 0} passed, ${json.numPendingTests ?? 0} skipped)`);
      }
    });
  } finally {
    await Promise.allSettled(Object.values(containers).map((c) => c.remove()));
  }

  process.stdout.write(`\n${bold("image sizes")} (uncompressed, as buildah stores them; the base is ${base.name})\n`);
  const images = JSON.parse(await buildah(["images", "--json"]));
  for (const name of [base.name, ...SERVICES.map(imageName)]) {
    const image = images.find((i) => (i.names ?? []).includes(name));
    // buildah prints the size already rounded ("253 MB": uncompressed, decimal megabytes).
    process.stdout.write(`  ${name.padEnd(48)} ${image?.size ?? "?"}\n`);
  }
  await pruneStore();
  finish(started);
}

/**
 * Every vfs layer is a full copy of the image's files, so the store grows by gigabytes a run.
 * The layers of this run stay for the next (an unchanged lock file reuses the npm installs)
 * until the store passes PARLEY_IMAGES_KEEP_GB (default 12); then every untagged image goes,
 * keeping the base and the three images. Deleting them takes minutes on a busy disk, hence the threshold.
 */
async function pruneStore() {
  const keepGb = Number(process.env.PARLEY_IMAGES_KEEP_GB ?? 12);
  const kb = Number(execFileSync("du", ["-sk", CACHE_DIR], { encoding: "utf8" }).split("\t")[0]);
  if (kb / 1024 / 1024 <= keepGb) return;
  const t = Date.now();
  step(`the images' store holds ${(kb / 1024 / 1024).toFixed(1)} GB (more than ${keepGb}): removing the layers of earlier builds…`);
  await buildah(["rmi", "--prune"]);
  step(`pruned in ${seconds(t)} s`);
}

function finish(started) {
  const failed = results.filter((r) => !r.ok);
  process.stdout.write(`\nimages: ${results.length} checks in ${seconds(started)} s\n`);
  for (const r of failed) process.stdout.write(`${red("✗")} ${r.name}: ${r.detail}\n`);
  process.stdout.write(`${results.length - failed.length} passed, ${failed.length} failed\n`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

main().catch((error) => {
  process.stderr.write(`${red("✗")} ${error.stack ?? error.message}\n`);
  results.push({ name: "npm run images", ok: false, detail: error.message });
  finish(Date.now());
});
