import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineConfig, mergeConfig, type ViteUserConfig } from "vitest/config";

/** The globalSetup module next to this file (dist/global-setup.js once built, src/*.ts in the testkit's own tests). */
function globalSetupPath(): string {
  const js = fileURLToPath(new URL("./global-setup.js", import.meta.url));
  return existsSync(js) ? js : fileURLToPath(new URL("./global-setup.ts", import.meta.url));
}

/**
 * The vitest config of every Parley workspace that needs Redis or PostgreSQL:
 *
 *   // vitest.config.ts
 *   import { parleyVitestConfig } from "@parley/testkit/vitest-config";
 *   export default parleyVitestConfig();
 *
 * Tests live in src/**\/*.test.ts and test/**\/*.test.ts. `overrides` is merged in
 * (vitest's mergeConfig: arrays are concatenated).
 */
export function parleyVitestConfig(overrides: ViteUserConfig = {}): ViteUserConfig {
  const base = defineConfig({
    test: {
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      globalSetup: [globalSetupPath()],
      // Real servers: a start-up or an outage test takes seconds, not milliseconds.
      testTimeout: 30_000,
      hookTimeout: 60_000,
      teardownTimeout: 30_000,
      pool: "forks",
    },
  });
  return mergeConfig(base, overrides);
}
