import { defineConfig } from "vitest/config";

// Plain file reading: no Redis, no Postgres.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
  },
});
