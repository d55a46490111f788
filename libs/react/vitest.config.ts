import { parleyVitestConfig } from "@parley/testkit/vitest-config";

// The hooks against a real cluster (gateways, persister and delivery as processes, Redis and
// PostgreSQL) rendered by react-dom into a happy-dom document.
export default parleyVitestConfig({
  test: { include: ["test/**/*.test.ts", "test/**/*.test.tsx"], setupFiles: ["test/dom-globals.ts"], testTimeout: 120_000, hookTimeout: 120_000 },
});
