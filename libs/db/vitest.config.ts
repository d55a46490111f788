import { parleyVitestConfig } from "@parley/testkit/vitest-config";

export default parleyVitestConfig();
