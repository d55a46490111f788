import { parleyVitestConfig } from "@parley/testkit/vitest-config";

// A whole cluster and a browser per file: generous limits on a shared, loaded machine.
export default parleyVitestConfig({ test: { testTimeout: 120_000, hookTimeout: 120_000 } });
