import { z } from "zod";
import { isRunbookBase, runbookUrl } from "./runbook.js";

/**
 * critical: wake someone up now; warning: look at it in working hours. The names the usual
 * Alertmanager routes and inhibition rules match on (a critical alert silences the warning of
 * the same alert).
 */
export const Severity = z.enum(["critical", "warning"]);
export type Severity = z.infer<typeof Severity>;

/** Prometheus durations as rule files accept them (and the Operator's CRD pattern). */
const Duration = z.string().regex(/^(\d+(ms|s|m|h|d|w|y))+$/, "a Prometheus duration such as 5m or 1h30m");

export const RecordingRule = z.strictObject({
  record: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/),
  expr: z.string().min(1),
});
export type RecordingRule = z.infer<typeof RecordingRule>;

export const AlertingRule = z.strictObject({
  alert: z.string().regex(/^Parley[A-Za-z]+$/),
  expr: z.string().min(1),
  for: Duration.optional(),
  // `cause` tells apart rules that share an alert name and severity (promtool refuses duplicates).
  labels: z.strictObject({ severity: Severity, cause: z.string().regex(/^[a-z_]+$/).optional() }),
  annotations: z.strictObject({
    summary: z.string().min(1),
    description: z.string().min(1),
    runbook_url: z.string().refine(isRunbookBase, "an absolute URL or a path in the repository"),
  }),
});
export type AlertingRule = z.infer<typeof AlertingRule>;

export const RuleGroup = z.strictObject({
  name: z.string().regex(/^parley-[a-z-]+$/),
  rules: z.array(z.union([RecordingRule, AlertingRule])).min(1),
});
export type RuleGroup = z.infer<typeof RuleGroup>;

export interface AlertSpec {
  name: string;
  severity: Severity;
  expr: string;
  for?: string;
  cause?: string;
  summary: string;
  description: string;
}

/** An alerting rule with the conventions every Parley alert keeps (severity, runbook link at the default base; `parleyRuleGroups` rebases it). */
export function alert(spec: AlertSpec): AlertingRule {
  return {
    alert: spec.name,
    expr: promql(spec.expr),
    ...(spec.for ? { for: spec.for } : {}),
    labels: { severity: spec.severity, ...(spec.cause ? { cause: spec.cause } : {}) },
    annotations: { summary: spec.summary, description: spec.description, runbook_url: runbookUrl(spec.name) },
  };
}

export function record(name: string, expr: string): RecordingRule {
  return { record: name, expr: promql(expr) };
}

/**
 * Expressions are written as indented template literals; the rule files keep them readable as
 * YAML block scalars, so drop the source's common indentation and the blank first/last lines.
 */
export function promql(text: string): string {
  const lines = text.replace(/^\n+|\s+$/g, "").split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(indent)).join("\n");
}
