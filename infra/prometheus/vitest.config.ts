import { defineConfig } from "vitest/config";

// No Redis or Postgres here: these tests generate the rules and run promtool on them.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // promtool evaluates days of input series at one-minute steps: slow on a loaded machine.
    testTimeout: 120_000,
  },
});
