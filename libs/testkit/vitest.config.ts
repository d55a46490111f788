import { parleyVitestConfig } from "./src/vitest-config.ts";

export default parleyVitestConfig();
