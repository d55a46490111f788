import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";

// A Prometheus rule file (https://prometheus.io/docs/prometheus/latest/configuration/recording_rules/),
// only what the tests read.
const RuleFile = z.object({
  groups: z.array(
    z.looseObject({
      name: z.string(),
      rules: z.array(
        z.looseObject({ alert: z.string().optional(), record: z.string().optional(), expr: z.union([z.string(), z.number()]) }),
      ),
    }),
  ),
});

export interface RuleDefinition {
  file: string;
  group: string;
  /** The alert's or recorded series' name. */
  name: string;
  kind: "alerting" | "recording";
  expr: string;
}

export interface LoadedRuleFiles {
  files: string[];
  groups: { file: string; name: string }[];
  rules: RuleDefinition[];
}

/** The rule files (`*.rules.yml`) of a directory and every group and rule in them; throws when there is none. */
export function loadRuleFiles(dir: string): LoadedRuleFiles {
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /\.rules\.ya?ml$/.test(f))
        .sort()
        .map((f) => join(dir, f))
    : [];
  if (files.length === 0) throw new Error(`no rule files (*.rules.yml) in ${dir}`);
  const loaded: LoadedRuleFiles = { files, groups: [], rules: [] };
  for (const file of files) {
    const parsed = RuleFile.parse(parse(readFileSync(file, "utf8")));
    for (const group of parsed.groups) {
      loaded.groups.push({ file, name: group.name });
      for (const rule of group.rules) {
        loaded.rules.push({
          file,
          group: group.name,
          name: rule.alert ?? rule.record ?? "(unnamed)",
          kind: rule.alert ? "alerting" : "recording",
          expr: String(rule.expr),
        });
      }
    }
  }
  return loaded;
}
