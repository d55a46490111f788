import { parleyVitestConfig } from "@parley/testkit/vitest-config";

// One scenario at a time: each runs a whole cluster of processes under load on a 2-core
// machine, and its recovery figures mean nothing with another scenario beside it.
export default parleyVitestConfig({ test: { fileParallelism: false, testTimeout: 180_000 } });
