import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** This workspace (infra/prometheus) and the repository root. */
export const WORKSPACE = fileURLToPath(new URL("../", import.meta.url));
export const ROOT = join(WORKSPACE, "..", "..");
/** The promtool unit-test files (test/*.yml) sit beside the vitest files that run them. */
export const PROMTOOL_TESTS = join(WORKSPACE, "test");

/** The promtool unit-test files, test/*.yml. */
export function promtoolTestFiles(): string[] {
  return readdirSync(PROMTOOL_TESTS)
    .filter((f) => f.endsWith(".yml"))
    .sort();
}
