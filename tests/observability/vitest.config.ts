import { parleyVitestConfig } from "@parley/testkit/vitest-config";

// Each file starts a whole cluster of real processes (and a Prometheus): minutes, not seconds,
// on a loaded machine. The two files run side by side.
export default parleyVitestConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 90_000,
  },
});
