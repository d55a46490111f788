import { defineConfig } from "vitest/config";

// The catalog's type-level tests (expectTypeOf) are checked by tsc as part of the run.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    typecheck: { enabled: true, include: ["src/**/*.test.ts"], tsconfig: "./tsconfig.json" },
  },
});
