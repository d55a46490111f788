import { fileURLToPath } from "node:url";
import { renderPrometheusRule, renderRuleFile } from "./render.js";
import { parleyRuleGroups, type RuleOptions } from "./rules.js";

/** The repository root, from src/ or dist/ of infra/prometheus. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export const RULE_FILE = "infra/prometheus/rules/parley.rules.yml";
export const PROMETHEUS_RULE_FILE = "infra/k8s/components/monitoring/prometheus-rule.yaml";

/** Every generated file (path from the repository root) with its content. */
export function generatedFiles(options: RuleOptions = {}): Record<string, string> {
  const groups = parleyRuleGroups(options);
  return {
    [RULE_FILE]: renderRuleFile(groups),
    [PROMETHEUS_RULE_FILE]: renderPrometheusRule(groups),
  };
}
