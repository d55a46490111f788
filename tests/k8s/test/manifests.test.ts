import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IIngress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IService } from "kubernetes-models/v1/Service";
import type { IHTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute";
import type { IScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import type { IPodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import type { IServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { DEFAULT_KEYSPACE } from "@parley/bus";
import { LIMITS } from "@parley/protocol";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Registry } from "prom-client";
import { beforeAll, describe, expect, it } from "vitest";
import { renderer, describe as name, listOverlays, render, type K8sObject } from "./kustomize.js";
import { readPackage, ROOT, SERVICES } from "./repo.js";
import { schemaErrors } from "./schemas.js";
import { byKind, containerPort, deployments, literalEnv, selects, workloads } from "./workloads.js";

const overlays = listOverlays();
const rendered = new Map<string, K8sObject[]>();

beforeAll(async () => {
  renderer();
  // One kubectl per overlay, all at once: the whole file stays within a few seconds.
  const results = await Promise.all(overlays.map(async (o) => [o, await render(o)] as const));
  for (const [overlay, objects] of results) rendered.set(overlay, objects);
});

const objectsOf = (overlay: string) => rendered.get(overlay)!;
/** Overlays that deploy the services (the migration steps only hold the Job). */
const appOverlays = () => overlays.filter((o) => deployments(objectsOf(o)).length > 0);

/** A setting as the container gets it: a literal in the Deployment, else its ConfigMap. */
function settingOf(objects: K8sObject[], container: IContainer, variable: string): string | undefined {
  const literal = literalEnv(container, variable);
  if (literal) return literal;
  for (const from of container.envFrom ?? []) {
    const map = byKind<IConfigMap>(objects, "ConfigMap").find((c) => c.metadata.name === from.configMapRef?.name);
    const value = map?.data?.[variable];
    if (value) return value;
  }
  return undefined;
}

/** PERSIST_PARTITIONS as a Deployment's container gets it (undefined: the service's default). */
function persistPartitionsOf(objects: K8sObject[], deployment: string): number | undefined {
  const d = deployments(objects).find((x) => x.metadata!.name === deployment);
  const value = d && settingOf(objects, d.spec!.template.spec!.containers[0]!, "PERSIST_PARTITIONS");
  return value === undefined ? undefined : Number(value);
}

/** The drain the process runs on SIGTERM: SHUTDOWN_GRACE_MS from its ConfigMap, else the contract's default. */
function shutdownGraceMs(objects: K8sObject[], container: IContainer): number {
  return Number(settingOf(objects, container, "SHUTDOWN_GRACE_MS") ?? LIMITS.shutdownGraceMs);
}

describe("overlays", () => {
  it("are all found: dev, production, its migration step and the alternatives", () => {
    expect(overlays).toEqual(expect.arrayContaining(["dev", "production", "production/migrate", "production-hpa", "production-ingress-nginx"]));
  });

  it("render to objects that all validate against their schemas, with no unknown field", () => {
    const errors = overlays.flatMap((o) => objectsOf(o).flatMap((obj) => schemaErrors(obj).map((e) => `${o} ${name(obj)}: ${e}`)));
    expect(errors).toEqual([]);
  });

  it("put every namespaced object in the parley namespace, which enforces the restricted pod security standard", () => {
    for (const o of overlays) {
      for (const obj of objectsOf(o)) {
        if (obj.kind === "Namespace") expect(obj.metadata.labels?.["pod-security.kubernetes.io/enforce"], o).toBe("restricted");
        else expect(obj.metadata.namespace, `${o} ${name(obj)}`).toBe("parley");
      }
    }
  });
});

describe("every Deployment", () => {
  it("runs all three services in every app overlay", () => {
    for (const o of appOverlays()) {
      expect(deployments(objectsOf(o)).map((d) => d.metadata.name).sort(), o).toEqual(["parley-delivery", "parley-gateway", "parley-persister"]);
    }
  });

  it("has startup, liveness (/healthz) and readiness (/readyz) probes on the port the service listens on", () => {
    for (const o of appOverlays()) {
      for (const d of deployments(objectsOf(o))) {
        const service = SERVICES.find((s) => `parley-${s.name}` === d.metadata.name)!;
        for (const c of d.spec!.template.spec!.containers) {
          const where = `${o} ${d.metadata.name}`;
          const listens = Number(literalEnv(c, service.portVariable));
          expect(listens, `${where}: ${service.portVariable} set in the Deployment`).toBeGreaterThan(0);
          for (const [probe, path] of [["startupProbe", "/healthz"], ["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]] as const) {
            const get = c[probe]?.httpGet;
            expect(get?.path, `${where} ${probe}`).toBe(path);
            expect(containerPort(c, get!.port), `${where} ${probe} port`).toBe(listens);
          }
        }
      }
    }
  });

  it("has CPU and memory requests and a memory limit", () => {
    for (const o of appOverlays()) {
      for (const d of deployments(objectsOf(o))) {
        for (const c of d.spec!.template.spec!.containers) {
          expect(c.resources?.requests?.cpu, `${o} ${d.metadata.name}`).toBeDefined();
          expect(c.resources?.requests?.memory, `${o} ${d.metadata.name}`).toBeDefined();
          expect(c.resources?.limits?.memory, `${o} ${d.metadata.name}`).toBeDefined();
        }
      }
    }
  });

  it("has a preStop hook and a termination grace period that covers it and the drain (SHUTDOWN_GRACE_MS)", () => {
    for (const o of appOverlays()) {
      const objects = objectsOf(o);
      for (const d of deployments(objects)) {
        const pod = d.spec!.template.spec!;
        for (const c of pod.containers) {
          const preStop = c.lifecycle?.preStop;
          expect(preStop, `${o} ${d.metadata.name} preStop`).toBeDefined();
          const sleepSeconds = preStop?.sleep?.seconds ?? 0;
          const needed = sleepSeconds + shutdownGraceMs(objects, c) / 1000 + 3;
          expect(pod.terminationGracePeriodSeconds ?? 30, `${o} ${d.metadata.name}: preStop ${sleepSeconds} s + drain + 3 s`).toBeGreaterThanOrEqual(needed);
        }
      }
    }
  });

  it("gives the gateway's readiness probe time to see the drain's 503 (DRAIN_DELAY_MS), inside SHUTDOWN_GRACE_MS", () => {
    for (const o of appOverlays()) {
      const objects = objectsOf(o);
      const gateway = deployments(objects).find((d) => d.metadata.name === "parley-gateway")!;
      const c = gateway.spec!.template.spec!.containers[0]!;
      const graceMs = shutdownGraceMs(objects, c);
      // The contract's default: a fifth of the grace period.
      const delayMs = Number(settingOf(objects, c, "DRAIN_DELAY_MS") ?? graceMs / 5);
      expect(delayMs, `${o}: DRAIN_DELAY_MS below SHUTDOWN_GRACE_MS`).toBeLessThan(graceMs);
      // At least one probe falls inside the delay, so the kubelet (and anything polling like it) sees 503 before the port closes.
      expect(c.readinessProbe!.periodSeconds! * 1000, `${o}: readiness period within DRAIN_DELAY_MS`).toBeLessThanOrEqual(delayMs);
    }
  });

  it("is spread over zones and nodes", () => {
    for (const o of appOverlays()) {
      for (const d of deployments(objectsOf(o))) {
        const keys = (d.spec!.template.spec!.topologySpreadConstraints ?? []).map((t) => t.topologyKey);
        expect(keys, `${o} ${d.metadata.name}`).toEqual(expect.arrayContaining(["topology.kubernetes.io/zone", "kubernetes.io/hostname"]));
      }
    }
  });

  it("has a PodDisruptionBudget that selects its pods and lets a node drain proceed", () => {
    for (const o of appOverlays()) {
      const budgets = byKind<IPodDisruptionBudget>(objectsOf(o), "PodDisruptionBudget");
      for (const d of deployments(objectsOf(o))) {
        const labels = d.spec!.template.metadata!.labels!;
        const mine = budgets.filter((b) => selects(b.spec!.selector, labels));
        expect(mine.length, `${o} ${d.metadata.name}`).toBe(1);
        // minAvailable equal to the replica count would block every drain.
        expect(mine[0]!.spec!.maxUnavailable, `${o} ${d.metadata.name}`).toBeDefined();
      }
    }
  });

  it("leaves the replica count to the autoscaler when one targets it", () => {
    for (const o of appOverlays()) {
      const objects = objectsOf(o);
      const scaled = new Set([
        ...byKind<IScaledObject>(objects, "ScaledObject").map((s) => s.spec.scaleTargetRef.name),
        ...byKind<IHorizontalPodAutoscaler>(objects, "HorizontalPodAutoscaler").map((h) => h.spec!.scaleTargetRef.name),
      ]);
      for (const d of deployments(objects)) {
        if (scaled.has(d.metadata.name)) expect(d.spec!.replicas, `${o} ${d.metadata.name}`).toBeUndefined();
        else expect(d.spec!.replicas, `${o} ${d.metadata.name}: no autoscaler, so a replica count`).toBeGreaterThan(0);
      }
    }
  });
});

describe("every pod (Deployments, StatefulSets, the migration Job)", () => {
  it("runs non-root with the restricted security context", () => {
    for (const o of overlays) {
      for (const w of workloads(objectsOf(o))) {
        const where = `${o} ${name(w.owner)}`;
        const pod = w.pod.securityContext;
        expect(pod?.runAsNonRoot, where).toBe(true);
        expect(pod?.runAsUser, where).toBeGreaterThan(0);
        expect(pod?.seccompProfile?.type, where).toBe("RuntimeDefault");
        for (const c of [...(w.pod.initContainers ?? []), ...w.pod.containers]) {
          const sc = c.securityContext;
          expect(sc?.allowPrivilegeEscalation, `${where} ${c.name}`).toBe(false);
          expect(sc?.readOnlyRootFilesystem, `${where} ${c.name}`).toBe(true);
          expect(sc?.capabilities?.drop, `${where} ${c.name}`).toEqual(["ALL"]);
          expect(sc?.capabilities?.add, `${where} ${c.name}`).toBeUndefined();
          expect(sc?.privileged, `${where} ${c.name}`).not.toBe(true);
        }
        expect(w.pod.automountServiceAccountToken, where).toBe(false);
        // Service links would add FOO_PORT=tcp://… variables next to the services' own.
        expect(w.pod.enableServiceLinks, where).toBe(false);
      }
    }
  });

  it("uses images pinned to a version or digest, never latest", () => {
    for (const o of overlays) {
      for (const w of workloads(objectsOf(o))) {
        for (const c of [...(w.pod.initContainers ?? []), ...w.pod.containers]) {
          const image = c.image ?? "";
          const tag = /@sha256:[0-9a-f]{64}$/.test(image) ? "digest" : /:([^/:]+)$/.exec(image)?.[1];
          expect(tag, `${o} ${name(w.owner)} ${image}`).toBeDefined();
          expect(tag, `${o} ${name(w.owner)} ${image}`).not.toBe("latest");
        }
      }
    }
  });
});

describe("traffic", () => {
  it("every Service selects pods and targets a port they declare", () => {
    for (const o of overlays) {
      const objects = objectsOf(o);
      for (const svc of byKind<IService>(objects, "Service")) {
        const pods = workloads(objects).filter((w) => selects({ matchLabels: svc.spec!.selector }, w.labels));
        expect(pods.length, `${o} ${svc.metadata.name}`).toBeGreaterThan(0);
        for (const port of svc.spec!.ports ?? []) {
          for (const w of pods) expect(w.pod.containers.some((c) => containerPort(c, port.targetPort ?? port.port) !== undefined), `${o} ${svc.metadata.name} ${port.name}`).toBe(true);
        }
      }
    }
  });

  it("the public route reaches the gateway Service for Socket.IO and the HTTP API only, with no timeout on WebSockets", () => {
    for (const o of appOverlays().filter((o) => o !== "dev")) {
      const objects = objectsOf(o);
      const routes = byKind<IHTTPRoute>(objects, "HTTPRoute");
      const ingresses = byKind<IIngress>(objects, "Ingress");
      expect(routes.length + ingresses.length, `${o}: one way in`).toBe(1);
      const paths: string[] = [];
      for (const route of routes) {
        for (const rule of route.spec.rules ?? []) {
          for (const backend of rule.backendRefs ?? []) expect([backend.name, backend.port], o).toEqual(["parley-gateway", 80]);
          const prefixes = (rule.matches ?? []).map((m) => m.path?.value ?? "");
          paths.push(...prefixes);
          if (prefixes.includes("/socket.io")) expect(rule.timeouts?.request, `${o}: WebSockets outlive any request timeout`).toBe("0s");
        }
      }
      for (const ingress of ingresses) {
        const annotations = ingress.metadata!.annotations!;
        expect(Number(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]), o).toBeGreaterThanOrEqual(3600);
        expect(Number(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]), o).toBeGreaterThanOrEqual(3600);
        // The SDK's long-polling fallback: every request of a polling session on the pod that holds it, answers streamed.
        expect(annotations["nginx.ingress.kubernetes.io/affinity"], `${o}: session affinity for long-polling`).toBe("cookie");
        expect(annotations["nginx.ingress.kubernetes.io/proxy-buffering"], `${o}: long-polling answers are not buffered`).toBe("off");
        for (const rule of ingress.spec!.rules ?? []) {
          for (const p of rule.http?.paths ?? []) {
            expect(p.backend.service?.name, o).toBe("parley-gateway");
            paths.push(p.path ?? "");
          }
        }
      }
      // /metrics, /healthz and /readyz share the gateway's port: they must not be public.
      expect(paths.sort(), o).toEqual(["/socket.io", "/v1"]);
    }
  });

  it("network policies deny by default and allow what each pod needs", () => {
    for (const o of appOverlays()) {
      const policies = byKind<INetworkPolicy>(objectsOf(o), "NetworkPolicy");
      const everyPod = (p: INetworkPolicy) => Object.keys(p.spec!.podSelector ?? {}).length === 0;
      const denyAll = policies.find((p) => everyPod(p) && !p.spec!.ingress && !p.spec!.egress);
      expect(denyAll?.spec!.policyTypes?.sort(), o).toEqual(["Egress", "Ingress"]);
      for (const w of workloads(objectsOf(o))) {
        const applies = policies.filter((p) => everyPod(p) || selects(p.spec!.podSelector, w.labels));
        const ingressRules = applies.flatMap((p) => p.spec!.ingress ?? []);
        // Every named port a policy opens exists on the pods it selects.
        for (const rule of ingressRules) {
          for (const port of rule.ports ?? []) {
            expect(w.pod.containers.some((c) => containerPort(c, port.port!) !== undefined), `${o} ${name(w.owner)} port ${port.port}`).toBe(true);
          }
        }
        const component = w.labels["app.kubernetes.io/component"];
        if (component === "gateway") expect(ingressRules.some((r) => !r.from), `${o}: clients reach the gateway from anywhere`).toBe(true);
        // Parley's processes; the datastores and dev's JWT-secret Job (the Kubernetes API only) need neither.
        if (component !== "datastore" && component !== "dev-secrets") {
          const egress = applies.flatMap((p) => p.spec!.egress ?? []).flatMap((r) => r.ports ?? []).map((p) => p.port);
          expect(egress, `${o} ${name(w.owner)} reaches DNS, Redis, Postgres`).toEqual(expect.arrayContaining([53, 6379, 5432]));
        }
      }
    }
  });
});

describe("autoscaling", () => {
  /**
   * The BullMQ queues a worker Deployment's service consumes: the names its code gives
   * `new Worker(…)`. Their wait lists live under the keyspace's queue prefix `{parley}`.
   */
  function consumedQueues(deployment: string): string[] {
    const queues = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
          for (const m of readFileSync(path, "utf8").matchAll(/new Worker\(\s*"([\w-]+)"/g)) queues.add(m[1]!);
        }
      }
    };
    walk(join(ROOT, "services", deployment.replace(/^parley-/, ""), "src"));
    return [...queues].sort();
  }
  const production = () => appOverlays().filter((o) => o !== "dev");

  /** KEDA's Redis trigger types for one server, a Redis Cluster and Sentinel. */
  const STREAM_TRIGGERS = ["redis-streams", "redis-cluster-streams", "redis-sentinel-streams"];
  const LIST_TRIGGERS = ["redis", "redis-cluster", "redis-sentinel"];

  /** The persister's backlog metric: what its pods export, what KEDA reads from Redis (XINFO GROUPS lag). */
  const streamMetric = "parley_persist_stream_lag";

  it("scales gateways on connected sockets per pod, persisters on the persist stream's backlog and each worker on every BullMQ queue it consumes", () => {
    const gatewayMetric = "parley_gateway_connected_sockets";
    for (const o of production()) {
      const objects = objectsOf(o);
      const scaled = byKind<IScaledObject>(objects, "ScaledObject");
      const hpas = byKind<IHorizontalPodAutoscaler>(objects, "HorizontalPodAutoscaler");
      expect(scaled.length + hpas.length, o).toBe(3);
      for (const s of scaled) {
        const target = s.spec.scaleTargetRef.name;
        if (target === "parley-gateway") {
          expect(s.spec.triggers.some((t) => t.type === "prometheus" && String(t.metadata.query).includes(gatewayMetric)), o).toBe(true);
          continue;
        }
        // The trigger types of the overlay's Redis topology (components/redis-cluster, redis-sentinel).
        const streams = s.spec.triggers.filter((t) => STREAM_TRIGGERS.includes(t.type));
        if (target === "parley-persister") {
          // The consumer group's lag, one trigger per persist partition the persisters read
          // (libs/bus keyspace), as many as the overlay's PERSIST_PARTITIONS (its default: 1, 8 on a cluster).
          const partitions = persistPartitionsOf(objects, "parley-persister") ?? (o.includes("redis-cluster") ? 8 : 1);
          expect(
            streams.map((t) => ({ stream: t.metadata.stream, group: t.metadata.consumerGroup, auth: t.authenticationRef?.name })),
            `${o} ${target}: one lag trigger per persist partition`,
          ).toEqual(
            Array.from({ length: partitions }, (_, k) => ({ stream: DEFAULT_KEYSPACE.persistPartition(k).stream, group: DEFAULT_KEYSPACE.persist.group, auth: "parley-redis" })),
          );
          // Each partition's target: the single stream's over the partitions (the HPA follows the largest).
          for (const t of streams) expect(Number(t.metadata.lagCount) * partitions, `${o} ${target}: lagCount × partitions`).toBe(200);
          expect(persistPartitionsOf(objects, "parley-gateway"), `${o}: gateways and persisters agree on PERSIST_PARTITIONS`).toBe(persistPartitionsOf(objects, "parley-persister"));
        } else expect(streams, `${o} ${target}`).toEqual([]);
        const lists = s.spec.triggers.filter((t) => LIST_TRIGGERS.includes(t.type)).map((t) => String(t.metadata.listName));
        const expected = consumedQueues(target).map((q) => `{parley}:${q}:wait`);
        expect(lists.sort(), `${o} ${target}: one trigger per queue its workers consume`).toEqual(expected);
      }
      for (const h of hpas) {
        const target = h.spec!.scaleTargetRef.name;
        const metrics = h.spec!.metrics ?? [];
        if (target === "parley-gateway") {
          expect(metrics.some((m) => m.pods?.metric.name === gatewayMetric), o).toBe(true);
          continue;
        }
        const streams = metrics.filter((m) => m.external?.metric.name === streamMetric);
        if (target === "parley-persister") {
          expect(streams.map((m) => m.external!.target.type), `${o} ${target}: the stream's backlog shared out over the pods`).toEqual(["AverageValue"]);
        } else expect(streams, `${o} ${target}`).toEqual([]);
        const queues = metrics.filter((m) => m.external?.metric.name === "bullmq_job_count").map((m) => m.external!.metric.selector?.matchLabels?.queue);
        expect(queues.sort(), `${o} ${target}: one metric per queue its workers consume`).toEqual(consumedQueues(target));
      }
    }
  });

  it("gives the persisters the same backlog target with KEDA and with plain HPAs", () => {
    const targets = production().flatMap((o) => [
      ...byKind<IScaledObject>(objectsOf(o), "ScaledObject")
        .filter((s) => s.spec.scaleTargetRef.name === "parley-persister")
        .flatMap((s) => s.spec.triggers.filter((t) => t.type === "redis-streams").map((t) => Number(t.metadata.lagCount))),
      ...byKind<IHorizontalPodAutoscaler>(objectsOf(o), "HorizontalPodAutoscaler")
        .filter((h) => h.spec!.scaleTargetRef.name === "parley-persister")
        .flatMap((h) => (h.spec!.metrics ?? []).filter((m) => m.external?.metric.name === streamMetric).map((m) => Number(m.external!.target.averageValue))),
    ]);
    expect(targets.length).toBeGreaterThanOrEqual(2);
    expect(new Set(targets).size, `targets: ${targets.join(", ")}`).toBe(1);
  });

  it("the gateway metric the autoscalers use is the one the gateway exports", async () => {
    expect(await gatewayMetricNames()).toContain("parley_gateway_connected_sockets");
  });

  it("the persister metric the HPA uses is one the persister exports", async () => {
    expect(await persisterStreamMetricNames()).toContain(streamMetric);
  });

  it("limits scale-down (each removed gateway makes its clients reconnect) and targets Deployments that exist", () => {
    for (const o of production()) {
      const objects = objectsOf(o);
      const names = new Set(deployments(objects).map((d) => d.metadata.name));
      const behaviours = [
        ...byKind<IScaledObject>(objects, "ScaledObject").map((s) => [s.spec.scaleTargetRef.name, s.spec.advanced?.horizontalPodAutoscalerConfig?.behavior] as const),
        ...byKind<IHorizontalPodAutoscaler>(objects, "HorizontalPodAutoscaler").map((h) => [h.spec!.scaleTargetRef.name, h.spec!.behavior] as const),
      ];
      for (const [target, behavior] of behaviours) {
        expect(names.has(target), `${o} ${target}`).toBe(true);
        const down = behavior?.scaleDown;
        expect(down?.stabilizationWindowSeconds, `${o} ${target}`).toBeGreaterThanOrEqual(300);
        expect(down?.policies?.every((p) => p.type === "Pods" && p.value === 1), `${o} ${target}: one pod at a time`).toBe(true);
        if (target === "parley-gateway") expect(down?.policies?.every((p) => p.periodSeconds >= 300), o).toBe(true);
      }
    }
  });
});

describe("monitoring", () => {
  it("scrapes every service's /metrics on a port it declares", () => {
    for (const o of appOverlays().filter((o) => o !== "dev")) {
      const objects = objectsOf(o);
      const services = byKind<IService>(objects, "Service");
      const scraped = new Set<string>();
      for (const m of byKind<IServiceMonitor>(objects, "ServiceMonitor")) {
        for (const svc of services.filter((s) => selects(m.spec.selector, s.metadata!.labels ?? {}))) {
          for (const e of m.spec.endpoints ?? []) {
            expect(e.path, o).toBe("/metrics");
            expect(svc.spec!.ports!.some((p) => p.name === e.port), `${o} ${svc.metadata.name} ${e.port}`).toBe(true);
            for (const w of workloads(objects).filter((w) => selects({ matchLabels: svc.spec!.selector }, w.labels))) scraped.add(w.owner.metadata.name);
          }
        }
      }
      for (const m of byKind<IPodMonitor>(objects, "PodMonitor")) {
        for (const w of workloads(objects).filter((w) => selects(m.spec.selector, w.labels))) {
          for (const e of m.spec.podMetricsEndpoints ?? []) {
            expect(e.path, o).toBe("/metrics");
            expect(w.pod.containers.some((c) => containerPort(c, e.port!) !== undefined), `${o} ${name(w.owner)} ${e.port}`).toBe(true);
          }
          scraped.add(w.owner.metadata.name);
        }
      }
      expect([...scraped].sort(), o).toEqual(["parley-delivery", "parley-gateway", "parley-persister"]);
    }
  });
});

describe("the migration Job", () => {
  const migrateScript = () => readPackage("libs/db").scripts!["db:migrate"]!;

  it("runs `npm run db:migrate`'s command in libs/db of the release's persister image", () => {
    expect(readPackage(".").scripts!["db:migrate"]).toMatch(/npm run db:migrate -w @parley\/db$/);
    for (const o of overlays) {
      const jobs = byKind<IJob>(objectsOf(o), "Job").filter((j) => j.metadata.name === "parley-migrate");
      expect(jobs.length, o).toBeLessThanOrEqual(1);
      for (const job of jobs) {
        const c = job.spec!.template.spec!.containers[0]!;
        expect([...(c.command ?? []), ...(c.args ?? [])].join(" "), o).toBe(migrateScript());
        expect(c.workingDir, o).toBe("/app/libs/db");
        expect(c.env?.map((e) => e.name), o).toEqual(["DATABASE_URL"]);
        expect(c.image, o).toMatch(/persister:[^:]+$/);
      }
    }
  });

  it("runs before the production app: a step of its own, with the same images, that the app does not contain", () => {
    for (const o of appOverlays().filter((o) => o.startsWith("production"))) {
      expect(byKind<IJob>(objectsOf(o), "Job"), `${o}: the Job is applied and waited for first`).toEqual([]);
      const [job] = byKind<IJob>(objectsOf("production/migrate"), "Job");
      const persister = deployments(objectsOf(o)).find((d) => d.metadata.name === "parley-persister")!;
      expect(job!.spec!.template.spec!.containers[0]!.image, o).toBe(persister.spec!.template.spec!.containers[0]!.image);
    }
    const step = objectsOf("production/migrate").map(name).sort();
    expect(step).toEqual(["Job/parley-migrate", "Namespace/parley"]);
    // Argo CD users get the same order from the hook annotations.
    const [job] = byKind<IJob>(objectsOf("production/migrate"), "Job");
    expect(job!.metadata!.annotations!["argocd.argoproj.io/hook"]).toBe("PreSync");
  });

  it("is retried (dev applies it with Postgres, which may still be starting)", () => {
    const job = byKind<IJob>(objectsOf("dev"), "Job").find((j) => j.metadata.name === "parley-migrate");
    expect(job!.spec!.backoffLimit).toBeGreaterThanOrEqual(3);
    expect(job!.spec!.template.spec!.restartPolicy).toBe("Never");
  });
});

describe("the dev overlay", () => {
  it("deploys no JWT secret of its own: a Job makes a random one in the cluster, and the gateway waits for it", () => {
    const objects = objectsOf("dev");
    const secrets = objects.filter((o) => o.kind === "Secret").map((o) => o as unknown as { metadata: { name: string }; data?: Record<string, string> });
    for (const secret of secrets) expect(Object.keys(secret.data ?? {}), secret.metadata.name).not.toContain("JWT_SECRET");
    const job = workloads(objects).find((w) => w.owner.metadata.name === "parley-dev-jwt-secret");
    expect(job, "the Job that makes the Secret").toBeDefined();
    const script = job!.pod.containers[0]!.command!.join(" ");
    expect(script).toContain("randomBytes(32)");
    expect(script).toContain('name = "parley-gateway"');
    const gateway = deployments(objects).find((d) => d.metadata.name === "parley-gateway")!;
    const ref = gateway.spec!.template.spec!.containers[0]!.envFrom!.find((e) => e.secretRef?.name === "parley-gateway");
    expect(ref?.secretRef?.optional).toBe(false);
    const role = objects.find((o) => o.kind === "Role" && o.metadata.name === "parley-dev-jwt-secret") as unknown as { rules: { verbs: string[] }[] };
    expect(role.rules.flatMap((r) => r.verbs).sort()).toEqual(["create", "get"]);
  });


  it("runs Redis with maxmemory-policy noeviction (the services refuse anything else)", () => {
    const redis = workloads(objectsOf("dev")).find((w) => w.owner.metadata.name === "redis")!;
    const args = redis.pod.containers[0]!.args!.join(" ");
    expect(args).toContain("--maxmemory-policy noeviction");
  });
});

/**
 * The persister's persist stream gauges, from its real module (built; not exported by the
 * package). They read Redis only when scraped, so no connection is needed to list them.
 */
async function persisterStreamMetricNames(): Promise<string[]> {
  const url = pathToFileURL(join(ROOT, "services/persister/dist/stream/stream-metrics.js")).href;
  const { registerStreamMetrics } = (await import(url)) as { registerStreamMetrics: (opts: Record<string, unknown>) => void };
  const registry = new Registry();
  // Registering reads nothing: the gauges read Redis in collect(), which listing them does not call.
  registerStreamMetrics({ registry, redis: {}, keyspace: DEFAULT_KEYSPACE, logger: { debug() {} } });
  return registry.getMetricsAsArray().map((m) => m.name);
}

/** The gateway's metric names, from its real metrics module (built; not exported by the package). */
async function gatewayMetricNames(): Promise<string[]> {
  const url = pathToFileURL(join(ROOT, "services/gateway/dist/metrics.js")).href;
  const { createGatewayMetrics } = (await import(url)) as { createGatewayMetrics: (registry: Registry) => unknown };
  const registry = new Registry();
  createGatewayMetrics(registry);
  return (await registry.getMetricsAsJSON()).map((m) => m.name);
}
