import { defineConfig } from "vitest/config";

// No Redis or Postgres here: these tests read files and render manifests with kubectl.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
