import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { ISecret } from "kubernetes-models/v1/Secret";
import { beforeAll, describe, expect, it } from "vitest";
import { renderer, listOverlays, render, type K8sObject } from "./kustomize.js";
import { readText, SERVICES, type ServiceName } from "./repo.js";
import { SERVICE_ENV as SCHEMAS } from "./service-env.js";
import { byKind, deployments } from "./workloads.js";

interface Row {
  variable: string;
  services: ServiceName[];
  /** "ConfigMap" (the service's own), "Deployment", or "Secret <name>". */
  home: string;
  optional: boolean;
}

/** The settings table of docs/operations.md (between its settings:start/end markers). */
function documentedSettings(): Row[] {
  const doc = readText("docs/operations.md");
  const table = /<!-- settings:start[^>]*-->([\s\S]*?)<!-- settings:end -->/.exec(doc)?.[1];
  if (!table) throw new Error("docs/operations.md has no settings table (<!-- settings:start --> … <!-- settings:end -->)");
  return table
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => {
      const [variable, services, home, set] = line.split("|").slice(1, 5).map((cell) => cell.trim());
      const secret = /^Secret `([\w-]+)`$/.exec(home!);
      if (!secret && home !== "ConfigMap" && home !== "Deployment") throw new Error(`docs/operations.md: unknown place "${home}" for ${variable}`);
      return {
        variable: variable!.replaceAll("`", ""),
        services: services === "all" ? SERVICES.map((s) => s.name) : (services!.split(",").map((s) => s.trim()) as ServiceName[]),
        home: secret ? `Secret ${secret[1]}` : home!,
        optional: set!.startsWith("unset"),
      };
    });
}

/** Where a container's variables come from, resolved against the rendered objects. */
function environment(container: IContainer, objects: K8sObject[]) {
  const configMaps = byKind<IConfigMap>(objects, "ConfigMap");
  const secrets = byKind<ISecret>(objects, "Secret");
  const fromConfigMap = new Map<string, string>();
  const secretRefs: { name: string; optional: boolean; keys?: string[] }[] = [];
  const explicit = new Map<string, { value?: string; secret?: string; field?: string }>();
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const map = configMaps.find((c) => c.metadata.name === from.configMapRef!.name);
      if (!map) throw new Error(`ConfigMap ${from.configMapRef.name} is referenced but not rendered`);
      for (const [k, v] of Object.entries(map.data ?? {})) fromConfigMap.set(k, v);
    }
    if (from.secretRef) {
      const rendered = secrets.find((s) => s.metadata.name === from.secretRef!.name);
      secretRefs.push({ name: from.secretRef.name!, optional: from.secretRef.optional ?? false, keys: rendered ? Object.keys(rendered.data ?? {}) : undefined });
    }
  }
  for (const e of container.env ?? []) {
    explicit.set(e.name, { value: e.value, secret: e.valueFrom?.secretKeyRef?.name, field: e.valueFrom?.fieldRef?.fieldPath });
  }
  const secretValue = (name: string, key: string) => {
    const data = secrets.find((s) => s.metadata.name === name)?.data?.[key];
    return data === undefined ? undefined : Buffer.from(data, "base64").toString("utf8");
  };
  return { fromConfigMap, secretRefs, explicit, secretValue };
}

/** A rendered name is the named object, or kustomize's generated one (name plus a content hash). */
const sameName = (rendered: string | undefined, name: string) => rendered === name || new RegExp(`^${name}-[a-z0-9]{10}$`).test(rendered ?? "");

/** Stand-ins for Secrets created outside the repository (production), valid for the schemas. */
const EXTERNAL_SECRET_VALUES: Record<string, string> = {
  REDIS_URL: "rediss://:secret@redis.example.internal:6379",
  DATABASE_URL: "postgres://parley:secret@postgres.example.internal:5432/parley",
  JWT_SECRET: "a-production-secret-of-32-chars!",
  REDIS_CLUSTER_NODES: "redis-0.redis.example.internal:6379,redis-1.redis.example.internal:6379",
  REDIS_SENTINELS: "sentinel-0.example.internal:26379,sentinel-1.example.internal:26379",
  REDIS_SENTINEL_NAME: "parley",
};

/** The Redis topology forms (protocol.md, "Redis topologies"): a service gets exactly one. */
const REDIS_FORMS = ["REDIS_URL", "REDIS_CLUSTER_NODES", "REDIS_SENTINELS"] as const;

const overlays = listOverlays();
const rendered = new Map<string, K8sObject[]>();
const rows = documentedSettings();

beforeAll(async () => {
  renderer();
  for (const [o, objects] of await Promise.all(overlays.map(async (o) => [o, await render(o)] as const))) rendered.set(o, objects);
});

const appOverlays = () => overlays.filter((o) => deployments(rendered.get(o)!).length > 0);
const serviceOf = (deployment: string) => deployment.replace(/^parley-/, "") as ServiceName;

describe("configuration", () => {
  it("documents every setting of every service in docs/operations.md, and no setting that does not exist", () => {
    const missing = SERVICES.flatMap(({ name }) =>
      Object.keys(SCHEMAS[name].shape)
        .filter((variable) => !rows.some((r) => r.variable === variable && r.services.includes(name)))
        .map((variable) => `${variable} (${name}): add a row to the settings table of docs/operations.md and put it where the row says`),
    );
    expect(missing).toEqual([]);
    const stale = rows.flatMap((r) => r.services.filter((s) => !(r.variable in SCHEMAS[s].shape)).map((s) => `${r.variable} is documented for ${s}, which has no such setting`));
    expect(stale).toEqual([]);
  });

  it("puts every setting where the table says, in every overlay", () => {
    const problems: string[] = [];
    for (const o of appOverlays()) {
      const objects = rendered.get(o)!;
      for (const d of deployments(objects)) {
        const service = serviceOf(d.metadata.name);
        const env = environment(d.spec!.template.spec!.containers[0]!, objects);
        const where = `${o} ${d.metadata.name}`;
        for (const row of rows.filter((r) => r.services.includes(service))) {
          const { variable, home } = row;
          const inConfigMap = env.fromConfigMap.has(variable);
          const set = env.explicit.get(variable);
          if (home === "ConfigMap") {
            if (set) problems.push(`${where}: ${variable} is set in the Deployment; it belongs in the ConfigMap`);
            if (!inConfigMap && !row.optional) problems.push(`${where}: ${variable} missing from the ConfigMap parley-${service}`);
          } else if (home === "Deployment") {
            if (!set?.value && !set?.field) problems.push(`${where}: ${variable} must be set in the Deployment's env`);
            if (inConfigMap) problems.push(`${where}: ${variable} is in the ConfigMap; the Deployment sets it`);
          } else {
            const secret = home.slice("Secret ".length);
            const viaEnv = sameName(set?.secret, secret);
            const viaEnvFrom = env.secretRefs.some((r) => sameName(r.name, secret));
            // An optional secret setting may be left out (the Redis forms an overlay does not use).
            if (!viaEnv && !viaEnvFrom && !(row.optional && !set)) problems.push(`${where}: ${variable} must come from the Secret ${secret}`);
            if (inConfigMap || set?.value !== undefined) problems.push(`${where}: ${variable} is secret and must not be in a ConfigMap or literal`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("holds only settings of its service in each ConfigMap, each value one the service accepts", () => {
    const problems: string[] = [];
    for (const o of appOverlays()) {
      const objects = rendered.get(o)!;
      for (const d of deployments(objects)) {
        const service = serviceOf(d.metadata.name);
        const shape = SCHEMAS[service].shape;
        for (const [variable, value] of environment(d.spec!.template.spec!.containers[0]!, objects).fromConfigMap) {
          const field = shape[variable];
          if (!field) problems.push(`${o} ConfigMap parley-${service}: ${variable} is not a setting of the ${service}`);
          else if (!field.safeParse(value).success) problems.push(`${o} ConfigMap parley-${service}: ${variable}=${value} is refused by the ${service}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("gives every service an environment its start-up validation accepts (production: with its Secrets filled in)", () => {
    for (const o of appOverlays()) {
      const objects = rendered.get(o)!;
      for (const d of deployments(objects)) {
        const service = serviceOf(d.metadata.name);
        const env = environment(d.spec!.template.spec!.containers[0]!, objects);
        const values: Record<string, string> = Object.fromEntries(env.fromConfigMap);
        for (const ref of env.secretRefs) {
          // A rendered Secret (dev) gives its own keys; one created outside the repository
          // gives the keys the table documents for it.
          const keys = ref.keys ?? rows.filter((r) => r.home.startsWith("Secret ") && sameName(ref.name, r.home.slice("Secret ".length)) && !r.optional).map((r) => r.variable);
          for (const key of keys) values[key] = env.secretValue(ref.name, key) ?? EXTERNAL_SECRET_VALUES[key] ?? "x".repeat(32);
        }
        for (const [variable, source] of env.explicit) {
          if (source.value !== undefined) values[variable] = source.value;
          else if (source.field) values[variable] = `${d.metadata.name}-7d9f8c6b5-x2x4z`;
          else if (source.secret) values[variable] = env.secretValue(source.secret, variable) ?? EXTERNAL_SECRET_VALUES[variable] ?? "x".repeat(32);
        }
        const parsed = SCHEMAS[service].safeParse(values);
        expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`), `${o} ${d.metadata.name}`).toEqual([]);
        expect(values.NODE_ENV, `${o} ${d.metadata.name}`).toBe("production");
      }
    }
  });

  it("gives every service exactly one Redis topology from the Secret parley-redis: one server by default, a cluster or Sentinels in their overlays", () => {
    const expected: Record<string, string> = { "production-redis-cluster": "REDIS_CLUSTER_NODES", "production-redis-sentinel": "REDIS_SENTINELS" };
    expect(overlays).toEqual(expect.arrayContaining(Object.keys(expected)));
    for (const o of appOverlays()) {
      for (const d of deployments(rendered.get(o)!)) {
        const env = environment(d.spec!.template.spec!.containers[0]!, rendered.get(o)!);
        const forms = REDIS_FORMS.filter((form) => env.explicit.has(form));
        expect(forms, `${o} ${d.metadata.name}`).toEqual([expected[o] ?? "REDIS_URL"]);
        for (const form of forms) expect(sameName(env.explicit.get(form)!.secret, "parley-redis"), `${o} ${d.metadata.name} ${form}`).toBe(true);
        // Sentinels need the master's name; the other forms must not carry one.
        expect(env.explicit.has("REDIS_SENTINEL_NAME"), `${o} ${d.metadata.name}`).toBe(forms[0] === "REDIS_SENTINELS");
      }
    }
  });

  it("gives the dev overlay URLs that reach its own Redis and Postgres with the credentials Postgres is created with", () => {
    const objects = rendered.get("dev")!;
    const gateway = deployments(objects).find((d) => d.metadata.name === "parley-gateway")!;
    const env = environment(gateway.spec!.template.spec!.containers[0]!, objects);
    expect(env.secretValue(env.explicit.get("REDIS_URL")!.secret!, "REDIS_URL")).toBe("redis://redis:6379");
    const database = new URL(env.secretValue(env.explicit.get("DATABASE_URL")!.secret!, "DATABASE_URL")!);
    const postgres = byKind<ISecret>(objects, "Secret").find((s) => sameName(s.metadata.name, "parley-postgres"))!;
    const created = Object.fromEntries(Object.entries(postgres.data!).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    expect([database.hostname, database.port]).toEqual(["postgres", "5432"]);
    expect([database.username, decodeURIComponent(database.password), database.pathname.slice(1)]).toEqual([
      created.POSTGRES_USER,
      created.POSTGRES_PASSWORD,
      created.POSTGRES_DB,
    ]);
  });
});
