import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { promtoolTestFiles, PROMTOOL_TESTS } from "./paths.js";

/** The parts of a promtool unit-test file the coverage checks read. */
const TestFile = z.object({
  rule_files: z.array(z.string()),
  tests: z.array(
    z.object({
      name: z.string(),
      alert_rule_test: z
        .array(
          z.object({
            eval_time: z.string(),
            alertname: z.string(),
            exp_alerts: z.array(z.object({ exp_labels: z.record(z.string(), z.string()).optional() })).default([]),
          }),
        )
        .default([]),
    }),
  ),
});

export interface AlertCase {
  file: string;
  test: string;
  evalTime: string;
  alertname: string;
  /** The labels of each alert expected to fire; empty when none may fire. */
  firing: Record<string, string>[];
}

export function ruleFilesOf(file: string): string[] {
  return TestFile.parse(parse(readFileSync(join(PROMTOOL_TESTS, file), "utf8"))).rule_files;
}

export function alertCases(): AlertCase[] {
  return promtoolTestFiles().flatMap((file) =>
    TestFile.parse(parse(readFileSync(join(PROMTOOL_TESTS, file), "utf8"))).tests.flatMap((t) =>
      t.alert_rule_test.map((c) => ({
        file,
        test: t.name,
        evalTime: c.eval_time,
        alertname: c.alertname,
        firing: c.exp_alerts.map((a) => a.exp_labels ?? {}),
      })),
    ),
  );
}
