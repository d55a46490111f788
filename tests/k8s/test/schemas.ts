import { HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import type { K8sObject } from "./kustomize.js";

/**
 * The schema of every kind the manifests may contain: Kubernetes (kubernetes-models, generated
 * from the API's OpenAPI document), Gateway API, KEDA and Prometheus Operator (generated from
 * their CRDs). A kind missing here fails the test: add its model when the manifests grow.
 */
const MODELS = [
  ConfigMap,
  Deployment,
  HorizontalPodAutoscaler,
  HTTPRoute,
  Ingress,
  Job,
  Namespace,
  NetworkPolicy,
  PodDisruptionBudget,
  PodMonitor,
  PrometheusRule,
  Role,
  RoleBinding,
  ScaledObject,
  Secret,
  Service,
  ServiceAccount,
  ServiceMonitor,
  StatefulSet,
  TriggerAuthentication,
];

type ModelClass = (typeof MODELS)[number];
const byType = new Map<string, ModelClass>(MODELS.map((m) => [`${m.apiVersion}/${m.kind}`, m]));

interface Node {
  path: string;
  keys: string[];
  read: Set<string>;
  enumerated: boolean;
}

/**
 * A copy of `value` whose objects record which of their fields the validator looks at. The
 * generated validators read each property the schema declares and enumerate the keys only of
 * maps (additionalProperties), so a field that is never read is one the schema does not know:
 * the API server would drop it (or refuse it, with strict field validation).
 */
function track(value: unknown, path: string, nodes: Node[]): unknown {
  if (Array.isArray(value)) return value.map((item, i) => track(item, `${path}[${i}]`, nodes));
  if (value === null || typeof value !== "object") return value;
  const node: Node = { path, keys: Object.keys(value), read: new Set(), enumerated: false };
  nodes.push(node);
  const target = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, track(v, path ? `${path}.${k}` : k, nodes)]));
  return new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key === "string") node.read.add(key);
      return Reflect.get(t, key, receiver);
    },
    has(t, key) {
      if (typeof key === "string") node.read.add(key);
      return Reflect.has(t, key);
    },
    ownKeys(t) {
      node.enumerated = true;
      return Reflect.ownKeys(t);
    },
  });
}

/** Schema errors of one object, unknown fields included; empty when it is valid. */
export function schemaErrors(object: K8sObject): string[] {
  const model = byType.get(`${object.apiVersion}/${object.kind}`);
  if (!model) return [`no schema for ${object.apiVersion} ${object.kind} (add its model to tests/k8s/test/schemas.ts)`];
  const nodes: Node[] = [];
  const tracked = track(object, "", nodes);
  try {
    // The model's validate() runs the generated validator on `this`: here, the tracked copy.
    (model.prototype.validate as (this: unknown) => void).call(tracked);
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
  return nodes
    .filter((node) => !node.enumerated)
    .flatMap((node) => node.keys.filter((key) => !node.read.has(key)).map((key) => `unknown field ${node.path ? `${node.path}.` : ""}${key}`));
}
