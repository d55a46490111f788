import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { last, readStages, type Stage } from "./dockerfile.js";
import { readPackage, readText, ROOT, SERVICES } from "./repo.js";
import { SERVICE_ENV } from "./service-env.js";

const dockerfile = (service: string) => readStages(readText(`services/${service}/Dockerfile`));
const final = (stages: Stage[]) => stages.at(-1)!;

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

describe.each(SERVICES.map((s) => s.name))("the %s image", (service) => {
  const stages = dockerfile(service);
  const runtime = final(stages);

  it("builds every stage from one pinned Node 24 slim image", () => {
    const images = new Set(stages.map((s) => s.image));
    expect(images.size).toBe(1);
    expect([...images][0]).toMatch(/^node:24\.\d+\.\d+-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$/);
  });

  it("installs with the lock file (npm ci), and production dependencies of this service only for the runtime", () => {
    const runs = stages.flatMap((s) => s.steps.filter((x) => x.keyword === "RUN").map((x) => x.args.join(" ")));
    expect(runs.some((r) => /\bnpm (install|i)\b/.test(r))).toBe(false);
    expect(runs).toContain("npm ci --no-audit --no-fund");
    expect(runs).toContain(`npm ci --omit=dev --workspace services/${service} --no-audit --no-fund`);
    // node_modules of the runtime comes from the production-only install, not from the build.
    const modules = runtime.steps.filter((s) => s.keyword === "COPY" && s.args[1] === "node_modules");
    expect(modules).toHaveLength(1);
    const from = stages.find((s) => s.name === modules[0]!.flags.from)!;
    expect(from.steps.some((s) => s.args.join(" ").includes("--omit=dev"))).toBe(true);
  });

  it("copies the built code of this service and exactly the libs it imports", () => {
    const copied = runtime.steps.filter((s) => s.keyword === "COPY" && s.flags.from === "build").map((s) => s.args[0]!.replace(/^\/app\//, ""));
    const libs = libsOf(service);
    const expected = [...libs, `services/${service}`].flatMap((dir) => [`${dir}/package.json`, `${dir}/dist`]);
    if (libs.includes("libs/db")) expected.push("libs/db/migrations");
    expect(copied.sort()).toEqual(expected.sort());
  });

  it("exposes the port the service listens on by default", () => {
    const { portVariable } = SERVICES.find((s) => s.name === service)!;
    const defaultPort = SERVICE_ENV[service].shape[portVariable]!.parse(undefined);
    expect(last(runtime, "EXPOSE")!.args).toEqual([String(defaultPort)]);
  });

  it("runs as a non-root user, by number (Kubernetes can only verify runAsNonRoot for a numeric user)", () => {
    const user = last(runtime, "USER")!.args[0]!;
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(":")[0])).toBeGreaterThan(0);
  });

  it("starts with the package's `start` command in exec form, so node is PID 1 and gets SIGTERM", () => {
    const start = readPackage(`services/${service}`).scripts!.start!;
    const command = start.replace(/^exec\s+/, "").split(/\s+/);
    const cmd = last(runtime, "CMD")!;
    expect(cmd.json).toEqual(command);
    expect(last(runtime, "WORKDIR")!.args[0]).toBe(`/app/services/${service}`);
    expect(runtime.steps.some((s) => s.keyword === "ENTRYPOINT")).toBe(false);
    expect(runtime.steps.some((s) => s.keyword === "STOPSIGNAL")).toBe(false);
  });

  it("bakes in no secret: no ENV or ARG that looks like one", () => {
    const named = stages.flatMap((s) => s.steps.filter((x) => x.keyword === "ENV" || x.keyword === "ARG").flatMap((x) => x.args.map((a) => a.split("=")[0]!)));
    expect(named.filter((n) => /SECRET|PASSW|TOKEN|KEY|CREDENTIAL|AUTH|_URL$/i.test(n))).toEqual([]);
  });
});

describe("the images together", () => {
  it("are built from one Dockerfile shape: only the service's name and its libs differ", () => {
    const shape = (service: string) =>
      dockerfile(service).map((stage) =>
        stage.steps
          .filter((s) => !(s.keyword === "COPY" && s.args[0]!.startsWith("/app/libs/")) && s.keyword !== "EXPOSE")
          .map((s) => `${s.keyword} ${JSON.stringify(s.flags)} ${s.args.join(" ")}`.replaceAll(service, "SERVICE")),
      );
    const [first, ...rest] = SERVICES.map((s) => shape(s.name));
    for (const other of rest) expect(other).toEqual(first);
  });

  it("ship the migrations in the persister image, which the migration Job runs from /app/libs/db", () => {
    const copied = final(dockerfile("persister")).steps.filter((s) => s.keyword === "COPY").map((s) => s.args[1]);
    expect(copied).toEqual(expect.arrayContaining(["libs/db/dist", "libs/db/migrations"]));
    expect(last(final(dockerfile("persister")), "WORKDIR")!.args[0]).toBe("/app/services/persister");
    expect(readPackage("libs/db").scripts!["db:migrate"]).toBe("node dist/migrate-cli.js");
  });

  it("leave out of the build context what is built, local or secret (.dockerignore)", () => {
    const ignored = readText(".dockerignore").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    expect(ignored).toEqual(expect.arrayContaining(["**/node_modules", "**/dist", ".git", ".env", ".env.*", ".data"]));
  });
});
