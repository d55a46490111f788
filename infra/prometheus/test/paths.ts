import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** This workspace (infra/prometheus) and the repository root. */
export const WORKSPACE = fileURLToPath(new URL("../", import.meta.url));
export const ROOT = join(WORKSPACE, "..", "..");
export const PROMTOOL_TESTS = join(WORKSPACE, "tests");

/** The promtool unit-test files, tests/*.yml. */
export function promtoolTestFiles(): string[] {
  return readdirSync(PROMTOOL_TESTS)
    .filter((f) => f.endsWith(".yml"))
    .sort();
}
