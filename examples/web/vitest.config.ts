import { defineConfig } from "vitest/config";

// The server's unit tests only (the page is tested in a real browser by tests/browser).
export default defineConfig({ test: { include: ["server/**/*.test.ts"] } });
