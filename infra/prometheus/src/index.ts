export { alertNames, parleyRuleGroups, type RuleOptions } from "./rules.js";
export { generatedFiles, PROMETHEUS_RULE_FILE, REPO_ROOT, RULE_FILE } from "./outputs.js";
export { renderPrometheusRule, renderRuleFile } from "./render.js";
export { DEFAULT_RUNBOOK_BASE_URL, isRunbookBase, runbookUrl } from "./runbook.js";
export { BURN_WINDOWS, type BurnWindow, type Slo } from "./burn-rate.js";
export { SEND_ERROR_SLO, SEND_LATENCY_SLO } from "./send-slos.js";
export type { AlertingRule, RecordingRule, RuleGroup, Severity } from "./rule.js";
