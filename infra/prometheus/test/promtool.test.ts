import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { PROMETHEUS_RULE_FILE, RULE_FILE } from "../src/outputs.js";
import { promtoolTestFiles, PROMTOOL_TESTS, ROOT } from "./paths.js";
import { promtool } from "./promtool.js";

const scratch = mkdtempSync(join(tmpdir(), "parley-rules-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("promtool check rules", () => {
  it("accepts the plain rule file (syntax, PromQL, templates, no duplicate rules)", () => {
    const { status, output } = promtool(["check", "rules", RULE_FILE], ROOT);
    expect(output, output).toMatch(/SUCCESS: \d+ rules found/);
    expect(status, output).toBe(0);
  });

  it("accepts the PrometheusRule's groups, which are the rule file's", () => {
    const object = parse(readFileSync(join(ROOT, PROMETHEUS_RULE_FILE), "utf8")) as { spec: { groups: unknown[] } };
    const plain = parse(readFileSync(join(ROOT, RULE_FILE), "utf8")) as { groups: unknown[] };
    expect(object.spec.groups).toEqual(plain.groups);
    const file = join(scratch, "prometheus-rule-groups.yml");
    writeFileSync(file, stringify({ groups: object.spec.groups }));
    const { status, output } = promtool(["check", "rules", file], scratch);
    expect(status, output).toBe(0);
  });
});

// One file at a time: promtool evaluates days of samples and the machine's cores are shared.
describe("promtool test rules", () => {
  it.each(promtoolTestFiles())("test/%s passes", (file) => {
    const { status, output } = promtool(["test", "rules", file], PROMTOOL_TESTS);
    expect(status, output).toBe(0);
    expect(output).toMatch(/SUCCESS/);
  });
});
