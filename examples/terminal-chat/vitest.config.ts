import { parleyVitestConfig } from "@parley/testkit/vitest-config";

// A whole cluster per file and a demo that waits out presence grace periods: generous limits
// on a shared, loaded machine.
export default parleyVitestConfig({ test: { testTimeout: 120_000, hookTimeout: 120_000 } });
