import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { substitute } from "../src/query-variables.js";
import { committedDashboards, queries } from "./dashboards.js";

const run = promisify(execFile);

/**
 * Prometheus's own parser, through promtool (Debian's `prometheus` package; `npm test` installs it as root).
 * promtool 2.42 has no command that only parses a query, but `check rules` parses every rule's
 * expression: each dashboard query becomes a recording rule of a throw-away rule file.
 */
function promtoolVersion(): string {
  try {
    return execFileSync("promtool", ["--version"], { encoding: "utf8", stdio: "pipe" }).split("\n")[0]!;
  } catch {
    throw new Error(
      "promtool is missing: install Debian's prometheus package (`apt-get install prometheus`, which `npm test` does as root), " +
        "then run the tests again. It checks every dashboard query with Prometheus's own parser.",
    );
  }
}

describe("dashboard queries, checked by promtool", () => {
  const dir = mkdtempSync(join(tmpdir(), "parley-grafana-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("parse with Prometheus's parser after substituting the variables", async () => {
    const version = promtoolVersion();
    const problems: string[] = [];
    let checked = 0;
    for (const d of committedDashboards()) {
      const list = queries(d);
      // Rule names carry the index; the message maps it back to the panel.
      const rules = list.map((q, i) => ({ record: `dashboard_query:${d.uid.replace(/-/g, "_")}:${i}`, expr: substitute(q.expr) }));
      const file = join(dir, `${d.uid}.rules.yaml`);
      writeFileSync(file, stringify({ groups: [{ name: d.uid, rules }] }));
      try {
        await run("promtool", ["check", "rules", file]);
        checked += rules.length;
      } catch (error) {
        const output = `${(error as { stdout?: string }).stdout ?? ""}${(error as { stderr?: string }).stderr ?? ""}`;
        const named = output.replace(/dashboard_query:\w+?:(\d+)/g, (whole, i: string) => `${whole} (${list[Number(i)]?.where})`);
        problems.push(`${d.uid} (${version}):\n${named}`);
      }
    }
    expect(problems, problems.join("\n")).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });
});
