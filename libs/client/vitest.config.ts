import { defineConfig } from "vitest/config";

// Unit tests only: no servers. The SDK against a real cluster is tested in tests/cluster.
export default defineConfig({
  test: { include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
