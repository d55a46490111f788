import { pino, type Logger } from "pino";

/**
 * The logger a test hands to the code under test: silent, so a passing run prints nothing,
 * unless TEST_LOG_LEVEL asks for more (`TEST_LOG_LEVEL=debug npx vitest run test/x.test.ts`
 * shows what the code logged around a failure).
 */
export function testLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
}
