import { alert, record, type AlertingRule, type RecordingRule, type Severity } from "./rule.js";

/**
 * Multi-window, multi-burn-rate alerting (Google SRE workbook, "Alerting on SLOs", table 5-8
 * and its ticket rows, our warnings): an alert fires when the budget burns fast over a long window AND is
 * still burning over a short one (a twelfth of it), so it starts quickly and stops soon
 * after the problem does. Factor × window = share of a 30-day budget spent:
 * 14.4 × 1h = 2 %, 6 × 6h = 5 % (critical); 3 × 1d = 10 %, 1 × 3d = 10 % (warning).
 */
export interface BurnWindow {
  severity: Severity;
  long: string;
  short: string;
  factor: number;
}

export const BURN_WINDOWS: readonly BurnWindow[] = [
  { severity: "critical", long: "1h", short: "5m", factor: 14.4 },
  { severity: "critical", long: "6h", short: "30m", factor: 6 },
  { severity: "warning", long: "1d", short: "2h", factor: 3 },
  { severity: "warning", long: "3d", short: "6h", factor: 1 },
];

/**
 * How long each severity's condition must hold. The short window already filters blips;
 * these only ride out one bad evaluation (critical) and keep warnings from flapping.
 */
const FOR: Record<Severity, string> = { critical: "2m", warning: "15m" };

export interface Slo {
  alert: string;
  /** The rule group holding its recording rules and alerts. */
  group: string;
  /** The objective, e.g. 0.99: the error budget is 1 − objective. */
  objective: number;
  /** Recording rule name for the bad-event ratio, before the window: `…:ratio_rate` + `5m`. */
  ratioRecord: string;
  /** PromQL for the share of bad events over `window`, aggregated by namespace. */
  badRatio(window: string): string;
  summary: string;
  /** What a bad event is, as a sentence's subject: "Successful sends slower than 250 ms". */
  badEvents: string;
  /** The objective in words: "99 % of successful sends within 250 ms". */
  objectiveText: string;
}

export function windowsOf(windows: readonly BurnWindow[]): string[] {
  const seconds = (d: string) => Number(d.slice(0, -1)) * { m: 60, h: 3600, d: 86400 }[d.slice(-1) as "m" | "h" | "d"];
  return [...new Set(windows.flatMap((w) => [w.short, w.long]))].sort((a, b) => seconds(a) - seconds(b));
}

export function sloRecordingRules(slo: Slo, windows = BURN_WINDOWS): RecordingRule[] {
  return windowsOf(windows).map((w) => record(`${slo.ratioRecord}${w}`, slo.badRatio(w)));
}

/** One alert per severity; its value is the burn rate over the first matching long window. */
export function sloAlerts(slo: Slo, windows = BURN_WINDOWS): AlertingRule[] {
  const budget = Number((1 - slo.objective).toPrecision(6));
  const severities = [...new Set(windows.map((w) => w.severity))];
  return severities.map((severity) => {
    const mine = windows.filter((w) => w.severity === severity);
    const expr = mine
      .map(
        (w) =>
          `(\n  ${slo.ratioRecord}${w.long} / ${budget} > ${w.factor}\nand\n  ${slo.ratioRecord}${w.short} / ${budget} > ${w.factor}\n)`,
      )
      .join("\nor\n");
    const rule = mine.map((w) => `${w.factor}× over ${w.long} and ${w.short}`).join(", or ");
    return alert({
      name: slo.alert,
      severity,
      expr,
      for: FOR[severity],
      summary: slo.summary,
      description:
        `${slo.badEvents} are spending the error budget {{ $value | printf "%.1f" }}× as fast as the objective ` +
        `(${slo.objectiveText}) can sustain (alerting at ${rule}).`,
    });
  });
}

