import { defineConfig } from "vitest/config";

// Unit tests of the server and of the page's pure logic (the page itself is tested in a real browser by tests/browser).
export default defineConfig({ test: { include: ["server/**/*.test.ts", "src/**/*.test.ts"] } });
