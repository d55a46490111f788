import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The repository root (tests/k8s/test → ../../..). */
export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const K8S = join(ROOT, "infra", "k8s");

/** The services that ship an image and a Deployment, with the port their probes use. */
export const SERVICES = [
  { name: "gateway", portVariable: "PORT" },
  { name: "persister", portVariable: "METRICS_PORT" },
  { name: "delivery", portVariable: "METRICS_PORT" },
] as const;
export type ServiceName = (typeof SERVICES)[number]["name"];

export interface PackageJson {
  name: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
}

export function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")) as PackageJson;
}

export function readText(path: string): string {
  return readFileSync(join(ROOT, path), "utf8");
}
