import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IStatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { K8sObject } from "./kustomize.js";

/** A pod template and what owns it (Deployment, StatefulSet or Job). */
export interface Workload {
  owner: K8sObject;
  labels: Record<string, string>;
  pod: IPodSpec;
}

export function workloads(objects: K8sObject[]): Workload[] {
  return objects.flatMap((owner): Workload[] => {
    if (owner.kind !== "Deployment" && owner.kind !== "StatefulSet" && owner.kind !== "Job") return [];
    const template = (owner as unknown as IDeployment | IStatefulSet | IJob).spec!.template;
    return [{ owner, labels: template.metadata?.labels ?? {}, pod: template.spec! }];
  });
}

export const deployments = (objects: K8sObject[]) =>
  objects.filter((o) => o.kind === "Deployment").map((o) => o as unknown as IDeployment & K8sObject);

export function byKind<T>(objects: K8sObject[], kind: string): (T & K8sObject)[] {
  return objects.filter((o) => o.kind === kind) as (T & K8sObject)[];
}

/** Whether every label of `selector` is on `labels` (matchLabels and matchExpressions). */
export function selects(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    switch (e.operator) {
      case "In":
        return value !== undefined && (e.values ?? []).includes(value);
      case "NotIn":
        return value === undefined || !(e.values ?? []).includes(value);
      case "Exists":
        return value !== undefined;
      case "DoesNotExist":
        return value === undefined;
      default:
        throw new Error(`unknown selector operator ${e.operator}`);
    }
  });
  return byLabel && byExpression;
}

/** A container port by name or number → its number, or undefined when the pod has no such port. */
export function containerPort(container: IContainer, port: string | number): number | undefined {
  const found = (container.ports ?? []).find((p) => (typeof port === "number" ? p.containerPort === port : p.name === port));
  return found?.containerPort;
}

/** The literal value of an environment variable set in `env` (not from a ConfigMap or Secret). */
export function literalEnv(container: IContainer, name: string): string | undefined {
  return container.env?.find((e) => e.name === name && e.value !== undefined)?.value;
}
