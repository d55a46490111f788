import { defineConfig } from "vitest/config";

// No Redis or Postgres here: these tests build the dashboards in memory, read files and run promtool.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
