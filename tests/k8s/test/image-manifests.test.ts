import { readFileSync } from "node:fs";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { beforeAll, describe, expect, it } from "vitest";
import { configFromDockerfile, readDockerfile, type ImageConfig } from "./dockerfile.js";
import { listOverlays, render, type K8sObject } from "./kustomize.js";
import { readPackage, readText, SERVICES, type ServiceName } from "./repo.js";
import { SERVICE_ENV } from "./service-env.js";
import { byKind, containerPort, deployments, literalEnv } from "./workloads.js";

/**
 * The manifests start what the images contain. The image side is the config of the built
 * images when `npm run images` runs this file (PARLEY_IMAGE_CONFIGS: each image's config as
 * `buildah inspect` gives it, and the files it holds under /app), else what the Dockerfile
 * gives each image (the same instructions, before a build).
 */
interface BuiltImage {
  config: ImageConfig;
  /** Every file under /app outside node_modules. */
  files: string[];
}
const built: Record<ServiceName, BuiltImage> | undefined = process.env.PARLEY_IMAGE_CONFIGS
  ? (JSON.parse(readFileSync(process.env.PARLEY_IMAGE_CONFIGS, "utf8")) as Record<ServiceName, BuiltImage>)
  : undefined;
const source = built ? "the built image" : "the Dockerfile";
const dockerfile = readDockerfile(readText("Dockerfile"));
const imageConfig = (service: ServiceName): ImageConfig => built?.[service].config ?? configFromDockerfile(dockerfile, service);

/**
 * Variables a Node base image sets for itself (the official image: NODE_VERSION, YARN_VERSION;
 * every image: PATH). The services read none of them.
 */
const BASE_IMAGE_ENV = new Set(["PATH", "NODE_VERSION", "YARN_VERSION"]);

const overlays = listOverlays();
const rendered = new Map<string, K8sObject[]>();
beforeAll(async () => {
  for (const [o, objects] of await Promise.all(overlays.map(async (o) => [o, await render(o)] as const))) rendered.set(o, objects);
});
const appOverlays = () => overlays.filter((o) => deployments(rendered.get(o)!).length > 0);
const serviceOf = (deployment: string) => deployment.replace(/^parley-/, "") as ServiceName;

/** The names of the variables a container gets: its ConfigMaps' keys and its own env. Secrets' keys are the settings table's business (configuration.test.ts). */
function variableNames(container: IContainer, objects: K8sObject[]): string[] {
  const names = (container.env ?? []).map((e) => e.name);
  for (const from of container.envFrom ?? []) {
    const map = byKind<IConfigMap>(objects, "ConfigMap").find((c) => c.metadata.name === from.configMapRef?.name);
    names.push(...Object.keys(map?.data ?? {}));
  }
  return names;
}

/** `1000:1000` → [1000, 1000]; a name instead of a number cannot be checked by the kubelet. */
function numericUser(user: string | undefined): [number, number | undefined] {
  const [uid, gid] = (user ?? "").split(":");
  if (!/^\d+$/.test(uid ?? "")) throw new Error(`image user "${user}" is not numeric`);
  return [Number(uid), gid === undefined ? undefined : Number(gid)];
}

describe(`the manifests run what ${source} contains`, () => {
  it("every Deployment runs the image's own command, in its working directory", () => {
    for (const o of appOverlays()) {
      for (const d of deployments(rendered.get(o)!)) {
        const service = serviceOf(d.metadata.name);
        const c = d.spec!.template.spec!.containers[0]!;
        const where = `${o} ${d.metadata.name}`;
        expect(c.command, `${where}: a command would replace the image's`).toBeUndefined();
        expect(c.args, `${where}: args would replace the image's CMD`).toBeUndefined();
        expect(c.workingDir ?? imageConfig(service).WorkingDir, where).toBe(imageConfig(service).WorkingDir);
        const start = readPackage(`services/${service}`).scripts!.start!.replace(/^exec\s+/, "").split(/\s+/);
        expect(imageConfig(service).Cmd, `${where}: the image runs the package's start command`).toEqual(start);
        // The official base's entrypoint (docker-entrypoint.sh) execs its arguments; a local base has none.
        expect([[], ["docker-entrypoint.sh"]], where).toContainEqual(imageConfig(service).Entrypoint ?? []);
      }
    }
  });

  it("every pod runs as the image's user (runAsUser / runAsGroup), which is not root", () => {
    for (const o of overlays) {
      const objects = rendered.get(o)!;
      const pods: [string, ServiceName, IPodSpec][] = [
        ...deployments(objects).map((d) => [`${o} ${d.metadata.name}`, serviceOf(d.metadata.name), d.spec!.template.spec!] as [string, ServiceName, IPodSpec]),
        ...byKind<IJob>(objects, "Job").map((j) => [`${o} Job/${j.metadata.name}`, "persister", j.spec!.template.spec!] as [string, ServiceName, IPodSpec]),
      ];
      for (const [where, service, pod] of pods) {
        const [uid, gid] = numericUser(imageConfig(service).User);
        expect(uid, where).toBeGreaterThan(0);
        for (const c of pod.containers) {
          expect(c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser, where).toBe(uid);
          if (gid !== undefined) expect(c.securityContext?.runAsGroup ?? pod.securityContext?.runAsGroup, where).toBe(gid);
        }
      }
    }
  });

  it("every Deployment's container port, probes and port variable are the port the image exposes", () => {
    for (const o of appOverlays()) {
      for (const d of deployments(rendered.get(o)!)) {
        const service = serviceOf(d.metadata.name);
        const c = d.spec!.template.spec!.containers[0]!;
        const where = `${o} ${d.metadata.name}`;
        const exposed = Object.keys(imageConfig(service).ExposedPorts ?? {}).map((p) => Number(p.split("/")[0]));
        const { portVariable } = SERVICES.find((s) => s.name === service)!;
        const listens = Number(literalEnv(c, portVariable));
        expect(exposed, `${where}: ${portVariable}=${listens}`).toEqual([listens]);
        expect((c.ports ?? []).map((p) => p.containerPort), where).toEqual([listens]);
        for (const [probe, path] of [["startupProbe", "/healthz"], ["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]] as const) {
          expect(c[probe]?.httpGet?.path, `${where} ${probe}`).toBe(path);
          expect(containerPort(c, c[probe]!.httpGet!.port), `${where} ${probe}`).toBe(listens);
        }
      }
    }
  });

  it("every variable the image or the manifest sets is a setting of the service (no unknown names)", () => {
    const problems: string[] = [];
    for (const o of appOverlays()) {
      const objects = rendered.get(o)!;
      for (const d of deployments(objects)) {
        const service = serviceOf(d.metadata.name);
        const settings = SERVICE_ENV[service].shape;
        const fromImage = (imageConfig(service).Env ?? []).map((e) => e.split("=")[0]!).filter((n) => !BASE_IMAGE_ENV.has(n));
        for (const name of fromImage) if (!(name in settings)) problems.push(`${source} of ${service} sets ${name}, which the ${service} does not read`);
        for (const name of variableNames(d.spec!.template.spec!.containers[0]!, objects)) {
          if (!(name in settings)) problems.push(`${o} ${d.metadata.name} sets ${name}, which the ${service} does not read`);
        }
      }
    }
    expect([...new Set(problems)]).toEqual([]);
  });

  it("every setting the service reads without a default is set by the manifest, the image or a Secret it loads", () => {
    const problems: string[] = [];
    for (const o of appOverlays()) {
      const objects = rendered.get(o)!;
      for (const d of deployments(objects)) {
        const service = serviceOf(d.metadata.name);
        const c = d.spec!.template.spec!.containers[0]!;
        const set = new Set([...variableNames(c, objects), ...(imageConfig(service).Env ?? []).map((e) => e.split("=")[0]!)]);
        const loadsSecrets = (c.envFrom ?? []).some((f) => f.secretRef);
        for (const [name, schema] of Object.entries(SERVICE_ENV[service].shape)) {
          // A setting is required when its schema refuses "unset" (no default, not optional).
          if (!schema.safeParse(undefined).success && !set.has(name) && !loadsSecrets) problems.push(`${o} ${d.metadata.name}: ${name} is required and set nowhere`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("every container with a read-only root mounts a writable /tmp (Node's os.tmpdir()), and only volumes the pod declares", () => {
    for (const o of overlays) {
      for (const w of [...deployments(rendered.get(o)!), ...byKind<IJob>(rendered.get(o)!, "Job")]) {
        const pod = (w as { spec: { template: { spec: IPodSpec } } }).spec.template.spec;
        for (const c of pod.containers.filter((c) => c.securityContext?.readOnlyRootFilesystem)) {
          const where = `${o} ${w.kind}/${w.metadata.name}`;
          const writable = (c.volumeMounts ?? []).filter((m) => !m.readOnly);
          expect(writable.map((m) => m.mountPath), where).toContain("/tmp");
          for (const m of c.volumeMounts ?? []) expect(pod.volumes?.some((v) => v.name === m.name), `${where} ${m.name}`).toBe(true);
        }
      }
    }
  });

  it.skipIf(!built)("the image holds the file each manifest's command starts (the services' entry, the migration Job's CLI)", () => {
    for (const { name } of SERVICES) {
      const config = imageConfig(name);
      const script = config.Cmd![1]!;
      expect(built![name].files, name).toContain(`${config.WorkingDir}/${script}`);
    }
    for (const o of overlays) {
      for (const job of byKind<IJob>(rendered.get(o)!, "Job")) {
        const c = job.spec!.template.spec!.containers[0]!;
        const argv = [...(c.command ?? []), ...(c.args ?? [])];
        expect(argv[0], `${o} ${job.metadata.name}`).toBe("node");
        // An inline script (`node -e`, dev's JWT-secret Job) starts no file of the image.
        if (argv[1] === "-e") continue;
        expect(built!.persister.files, `${o} ${job.metadata.name}`).toContain(`${c.workingDir}/${argv[1]}`);
      }
    }
  });
});
