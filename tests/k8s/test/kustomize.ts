import { execFile, execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { K8S } from "./repo.js";

const run = promisify(execFile);

/** What every rendered object has; the rest is checked against its kind's schema. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

const INSTALL_HINT =
  "Install kubectl 1.27 or later (Debian: `apt-get install kubectl` from the Kubernetes apt repository, " +
  "https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/; .ci/run installs it when missing), then run the tests again.";

/** Fails with what to do when kubectl is missing or too old, instead of a bare ENOENT. */
export function assertKubectl(): void {
  let version: string;
  try {
    version = execFileSync("kubectl", ["version", "--client"], { stdio: "pipe", encoding: "utf8" });
  } catch (err) {
    throw new Error(
      `kubectl renders the Kustomize overlays (\`kubectl kustomize\`) and could not be run (${err instanceof Error ? err.message : String(err)}). ${INSTALL_HINT}`,
    );
  }
  // Components, `labels` and `replicas` need the Kustomize v5 that kubectl 1.27+ bundles.
  const kustomize = /Kustomize Version: v(\d+)/.exec(version);
  if (!kustomize || Number(kustomize[1]) < 5) {
    throw new Error(`kubectl bundles Kustomize ${kustomize ? `v${kustomize[1]}` : "(unknown version)"}; the overlays need v5. ${INSTALL_HINT}`);
  }
}

/**
 * Every directory under infra/k8s/overlays whose kustomization.yaml is a Kustomization (not a
 * Component), as a path relative to overlays/: "dev", "production", "production/migrate", ….
 */
export function listOverlays(): string[] {
  const root = join(K8S, "overlays");
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (!statSync(path).isDirectory()) continue;
      const file = join(path, "kustomization.yaml");
      try {
        if (/^kind:\s*Kustomization\s*$/m.test(readFileSync(file, "utf8"))) found.push(relative(root, path));
      } catch {
        // A directory without a kustomization.yaml is not an overlay; look inside it.
      }
      walk(path);
    }
  };
  walk(root);
  return found.sort();
}

/** `kubectl kustomize infra/k8s/overlays/<overlay>`, parsed. */
export async function render(overlay: string): Promise<K8sObject[]> {
  const { stdout } = await run("kubectl", ["kustomize", join(K8S, "overlays", overlay)], { maxBuffer: 32 * 1024 * 1024 });
  const docs = parseAllDocuments(stdout);
  return docs.map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${overlay}: unreadable YAML from kubectl: ${doc.errors[0]!.message}`);
    return unfoldSecretData(doc.toJS() as K8sObject);
  });
}

/**
 * kustomize folds long base64 Secret values over several lines; the API server's decoder skips
 * the newlines, the schema's `byte` format does not.
 */
function unfoldSecretData(object: K8sObject): K8sObject {
  if (object.kind !== "Secret" || !object.data) return object;
  const data = Object.fromEntries(Object.entries(object.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s+/g, "")]));
  return { ...object, data };
}

export const describe = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
