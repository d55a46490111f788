import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configFromDockerfile, readDockerfile } from "./dockerfile.js";
import { readPackage, readText, ROOT, SERVICES } from "./repo.js";
import { SERVICE_ENV } from "./service-env.js";

const dockerfile = readDockerfile(readText("Dockerfile"));
const { stages, globalArgs } = dockerfile;
const stage = (name: string) => stages.find((s) => s.name === name)!;
const runtime = stage("runtime");
const runs = stages.flatMap((s) => s.steps.filter((x) => x.keyword === "RUN").map((x) => x.args.join(" ")));

/** The workspace libs a service needs at run time: its @parley dependencies, transitively. */
function libsOf(service: string): string[] {
  const found = new Set<string>();
  const visit = (dir: string) => {
    for (const dep of Object.keys(readPackage(dir).dependencies ?? {})) {
      if (!dep.startsWith("@parley/")) continue;
      const lib = `libs/${dep.slice("@parley/".length)}`;
      if (!existsSync(join(ROOT, lib, "package.json"))) throw new Error(`${dir} depends on ${dep}, which is not a lib`);
      if (!found.has(lib)) {
        found.add(lib);
        visit(lib);
      }
    }
  };
  visit(`services/${service}`);
  return [...found].sort();
}

/** Every workspace's package.json, by the globs of the root package.json. */
function workspaceManifests(): string[] {
  const globs = (readPackage(".") as { workspaces?: string[] }).workspaces ?? [];
  return globs.flatMap((glob) => {
    const parent = glob.replace(/\/\*$/, "");
    return readdirSync(join(ROOT, parent))
      .map((entry) => `${parent}/${entry}/package.json`)
      .filter((path) => existsSync(join(ROOT, path)));
  });
}

/**
 * Whether .dockerignore leaves `path` out of the build context: the last pattern that matches the
 * path or one of its parent directories decides (a `!` pattern brings it back), as Docker does.
 */
function ignored(path: string): boolean {
  const patterns = readText(".dockerignore").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const toRegExp = (glob: string) =>
    new RegExp(`^${glob.replace(/[.+^$()|[\]{}]/g, "\\$&").replace(/\*\*\/?/g, "\u0000").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]").replaceAll("\u0000", ".*")}$`);
  const prefixes = path.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
  let excluded = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith("!");
    const re = toRegExp(negated ? pattern.slice(1) : pattern);
    if (negated ? re.test(path) : prefixes.some((p) => re.test(p))) excluded = !negated;
  }
  return excluded;
}

describe("the Dockerfile", () => {
  it("takes its base as NODE_IMAGE, a pinned Node 24 slim image by default, and every stage starts from it or an earlier stage", () => {
    expect(globalArgs.NODE_IMAGE).toMatch(/^node:24\.\d+\.\d+-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$/);
    const names = new Set<string>();
    for (const s of stages.slice(0, -1)) {
      expect(s.image === "${NODE_IMAGE}" || names.has(s.image), `${s.name}: FROM ${s.image}`).toBe(true);
      if (s.name) names.add(s.name);
    }
  });

  it("takes the service as SERVICE, with no default, and is the stage of that name", () => {
    expect(Object.keys(globalArgs)).toContain("SERVICE");
    expect(globalArgs.SERVICE).toBeUndefined();
    expect(stages.at(-1)!.image).toBe("${SERVICE}");
    for (const { name } of SERVICES) expect(stage(name)?.image, name).toBe("runtime");
  });

  it("has every workspace's package.json in the build context and in the manifests stage (npm ci checks them all against the lock)", () => {
    const manifests = workspaceManifests();
    expect(manifests.length).toBeGreaterThan(10);
    expect(manifests.filter(ignored)).toEqual([]);
    expect(ignored("package-lock.json")).toBe(false);
    const find = stage("manifests").steps.find((s) => s.keyword === "RUN")!.args.join(" ");
    const searched = /find ([\w ]+) -name package\.json/.exec(find)![1]!.split(" ");
    expect(searched.sort()).toEqual([...new Set(manifests.map((m) => m.split("/")[0]!))].sort());
  });

  it("installs with the lock file (npm ci), and production dependencies of SERVICE only for the runtime", () => {
    expect(runs.some((r) => /\bnpm (install|i)\b/.test(r))).toBe(false);
    expect(runs).toContain("npm ci --no-audit --no-fund");
    const production = runs.find((r) => r.startsWith("npm ci --omit=dev --workspace services/${SERVICE} --no-audit --no-fund"));
    // npm keeps what other workspaces reached through a devDependency need: pruned to `npm ls --omit=dev`.
    expect(production).toContain("npm ls --all --omit=dev --long --json --workspace services/${SERVICE} > /tmp/tree.json");
    expect(production).toContain("node /tmp/prune-production.mjs /tmp/tree.json");
    // node_modules of the runtime comes from the production-only install, not from the build.
    const modules = runtime.steps.filter((s) => s.keyword === "COPY" && s.args[1] === "node_modules");
    expect(modules).toHaveLength(1);
    expect(stage(modules[0]!.flags.from!).steps.some((s) => s.args.join(" ").includes("--omit=dev"))).toBe(true);
  });

  it("compiles every service in one build stage that does not depend on SERVICE (shared by the three builds)", () => {
    const build = stage("build");
    expect(build.steps.some((s) => s.keyword === "ARG" || s.args.join(" ").includes("SERVICE"))).toBe(false);
    const turbo = build.steps.find((s) => s.keyword === "RUN" && s.args.join(" ").includes("turbo run build"))!.args.join(" ");
    for (const { name } of SERVICES) expect(turbo).toContain(`--filter=@parley/${readPackage(`services/${name}`).name.slice("@parley/".length)}...`);
  });

  it("copies the built code of SERVICE and exactly the libs the services import, which all three share", () => {
    const libs = libsOf(SERVICES[0].name);
    for (const { name } of SERVICES) expect(libsOf(name), `${name} imports other libs than ${SERVICES[0].name}: the Dockerfile copies one list for all`).toEqual(libs);
    // The build stage gathers package.json and dist of each in /deploy, the runtime copies from there.
    const gather = stage("build").steps.find((s) => s.keyword === "RUN" && s.args.join(" ").includes("/deploy"))!.args.join(" ");
    const gathered = /for dir in ([\w/ -]+); do/.exec(gather)![1]!.trim().split(/\s+/);
    expect(gathered.sort()).toEqual([...libs, ...SERVICES.map((s) => `services/${s.name}`)].sort());
    expect(gather).toContain("cp -r $dir/package.json $dir/dist /deploy/$dir/");
    if (libs.includes("libs/db")) expect(gather).toContain("cp -r libs/db/migrations /deploy/libs/db/");
    const copied = runtime.steps.filter((s) => s.keyword === "COPY" && s.flags.from === "build").map((s) => s.args);
    expect(copied).toEqual([
      ["/deploy/libs", "libs"],
      ["/deploy/services/${SERVICE}", "services/${SERVICE}"],
    ]);
  });

  it.each(SERVICES.map((s) => s.name))("gives the %s image the port it listens on by default, a numeric non-root user and its start command", (service) => {
    const config = configFromDockerfile(dockerfile, service);
    const { portVariable } = SERVICES.find((s) => s.name === service)!;
    const defaultPort = SERVICE_ENV[service].shape[portVariable]!.parse(undefined);
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual([`${defaultPort}/tcp`]);
    // Kubernetes can only verify runAsNonRoot for a numeric user.
    expect(config.User).toMatch(/^\d+(:\d+)?$/);
    expect(Number(config.User!.split(":")[0])).toBeGreaterThan(0);
    // The package's `start` script without npm, in exec form, so node itself gets SIGTERM.
    const start = readPackage(`services/${service}`).scripts!.start!;
    expect(config.Cmd).toEqual(start.replace(/^exec\s+/, "").split(/\s+/));
    expect(config.WorkingDir).toBe(`/app/services/${service}`);
    expect(config.Entrypoint).toBeUndefined();
  });

  it("sets no ENTRYPOINT or STOPSIGNAL (the base image's entrypoint execs the command; SIGTERM is the drain's signal)", () => {
    expect(stages.flatMap((s) => s.steps).filter((s) => s.keyword === "ENTRYPOINT" || s.keyword === "STOPSIGNAL")).toEqual([]);
  });

  it("bakes in no secret: no ENV or ARG that looks like one", () => {
    const named = [...Object.keys(globalArgs), ...stages.flatMap((s) => s.steps.filter((x) => x.keyword === "ENV" || x.keyword === "ARG").flatMap((x) => x.args.map((a) => a.split("=")[0]!)))];
    expect(named.filter((n) => /SECRET|PASSW|TOKEN|KEY|CREDENTIAL|AUTH|_URL$/i.test(n))).toEqual([]);
  });

  it("ships the migrations, which the migration Job runs from /app/libs/db (npm run db:migrate's command)", () => {
    expect(runtime.steps.filter((s) => s.keyword === "COPY").map((s) => s.args[1])).toContain("libs");
    expect(stage("build").steps.some((s) => s.args.join(" ").includes("cp -r libs/db/migrations /deploy/libs/db/"))).toBe(true);
    expect(readPackage("libs/db").scripts!["db:migrate"]).toBe("node dist/migrate-cli.js");
  });

  it("leaves out of the build context what is built, local or secret (.dockerignore)", () => {
    for (const path of ["node_modules", "libs/db/node_modules", "services/gateway/dist", ".git", ".env", ".env.production", ".data"]) expect(ignored(path), path).toBe(true);
    for (const path of ["services/gateway/src/server.ts", "libs/db/migrations", "tsconfig.base.json", "turbo.json"]) expect(ignored(path), path).toBe(false);
  });

  it("is the only Dockerfile: the services have none of their own", () => {
    for (const { name } of SERVICES) expect(existsSync(join(ROOT, "services", name, "Dockerfile")), name).toBe(false);
  });
});
