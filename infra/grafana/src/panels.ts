import * as common from "@grafana/grafana-foundation-sdk/common";
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { PanelBuilder as GaugePanel } from "@grafana/grafana-foundation-sdk/gauge";
import { PanelBuilder as HeatmapPanel, YAxisConfigBuilder } from "@grafana/grafana-foundation-sdk/heatmap";
import { DataqueryBuilder, PromQueryFormat } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanel } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TablePanel } from "@grafana/grafana-foundation-sdk/table";
import { PanelBuilder as TimeseriesPanel } from "@grafana/grafana-foundation-sdk/timeseries";
import type { AlertName } from "./links.js";

/** Every panel and every query names the dashboard's datasource variable, never a uid. */
export const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;

export interface Query {
  expr: string;
  /** Grafana legend template, e.g. `{{outcome}}`. */
  legend?: string;
  /** One value per series at the end of the range (stat, gauge and table panels). */
  instant?: boolean;
}

/** What every panel kind shares. */
export interface PanelSpec {
  title: string;
  /** What the panel shows and how to read it; shown in the panel's (i) tooltip. */
  description: string;
  queries: Query[];
  /** Grafana unit id: `s`, `percentunit`, `short`, `reqps`, `bytes`, `ops`, … */
  unit?: string;
  /** Runbooks of the alerts this panel helps to diagnose. */
  runbooks?: AlertName[];
  /** Grid width (of 24) and height. */
  width?: number;
  height?: number;
}

export interface TimeseriesSpec extends PanelSpec {
  /** Draws this value as a red threshold line, e.g. an objective. */
  thresholdLine?: number;
  stacked?: boolean;
  min?: number;
  max?: number;
}

export interface StatSpec extends PanelSpec {
  /** Absolute thresholds: the colour from each value on. The first step's value is the base. */
  steps?: { value: number | null; color: string }[];
  /** Texts for exact values, e.g. 1 → "up". */
  valueText?: Record<string, { text: string; color: string }>;
  min?: number;
  max?: number;
}

const LEGEND = () =>
  new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom);

const TOOLTIP = () => new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending);

/** Queries A, B, C… on the datasource variable; `format` for panels that need other frames than time series. */
function targets(queries: Query[], format?: PromQueryFormat): DataqueryBuilder[] {
  return queries.map((query, index) => {
    const target = new DataqueryBuilder()
      .datasource(DATASOURCE)
      .refId(String.fromCharCode(65 + index))
      .expr(query.expr)
      .legendFormat(query.legend ?? "__auto");
    if (format) target.format(format);
    return query.instant ? target.instant() : target.range();
  });
}

/** The settings every panel kind takes the same way. */
function withBasics<T extends TimeseriesPanel | StatPanel | GaugePanel | HeatmapPanel | TablePanel>(panel: T, spec: PanelSpec, format?: PromQueryFormat): T {
  panel
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .targets(targets(spec.queries, format))
    .span(spec.width ?? 12)
    .height(spec.height ?? 8);
  if (spec.unit) panel.unit(spec.unit);
  return panel;
}

/** The builders of the panel kinds below. */
export type PanelBuilder = TimeseriesPanel | StatPanel | GaugePanel | HeatmapPanel | TablePanel;

/**
 * A panel for ParleyDashboard.panel: the builder, and the alerts whose runbooks it links to.
 * The dashboard adds those links, since it is given where the runbooks are served.
 */
export interface Panel {
  builder: PanelBuilder;
  runbooks: AlertName[];
}

function ready(builder: PanelBuilder, spec: PanelSpec): Panel {
  return { builder, runbooks: spec.runbooks ?? [] };
}

function thresholds(steps: { value: number | null; color: string }[]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps);
}

export function timeseries(spec: TimeseriesSpec): Panel {
  const panel = withBasics(new TimeseriesPanel(), spec)
    .legend(LEGEND())
    .tooltip(TOOLTIP())
    .lineWidth(1)
    .fillOpacity(spec.stacked ? 30 : 10)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false);
  if (spec.stacked) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  if (spec.thresholdLine !== undefined) {
    panel
      .thresholds(thresholds([
        { value: null, color: "transparent" },
        { value: spec.thresholdLine, color: "red" },
      ]))
      .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  }
  return ready(panel, spec);
}

export function stat(spec: StatSpec): Panel {
  const panel = withBasics(new StatPanel(), { ...spec, queries: spec.queries.map((q) => ({ instant: true, ...q })) })
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Value)
    .textMode(common.BigValueTextMode.ValueAndName)
    .thresholds(thresholds(spec.steps ?? [{ value: null, color: "green" }]));
  if (spec.valueText) panel.mappings([{ type: dashboard.MappingType.ValueToText, options: spec.valueText }]);
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  return ready(panel, spec);
}

export function gauge(spec: StatSpec): Panel {
  const panel = withBasics(new GaugePanel(), { ...spec, queries: spec.queries.map((q) => ({ instant: true, ...q })) })
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
    .showThresholdMarkers(true)
    .thresholds(thresholds(spec.steps ?? [{ value: null, color: "green" }]));
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  return ready(panel, spec);
}

/** A Prometheus histogram's buckets over time; `unit` is the unit of the buckets' bounds. */
export function heatmap(spec: PanelSpec): Panel {
  // The buckets come as one frame with a field per `le` (format heatmap), already counted.
  const buckets = spec.queries.map((q) => ({ ...q, legend: "{{le}}" }));
  const panel = withBasics(new HeatmapPanel(), { ...spec, queries: buckets }, PromQueryFormat.Heatmap)
    .calculate(false)
    .showLegend()
    .yAxis(new YAxisConfigBuilder().unit(spec.unit ?? "short"));
  return ready(panel, spec);
}

/** One row per series, one column per label, the instant value last. */
export function table(spec: PanelSpec): Panel {
  const panel = withBasics(new TablePanel(), { ...spec, queries: spec.queries.map((q) => ({ instant: true, ...q })) }, PromQueryFormat.Table)
    // Drop the Time column and the labels every row shares, so the table reads at a glance.
    .withTransformation({ id: "organize", options: { excludeByName: { Time: true, __name__: true, job: true } } });
  return ready(panel, spec);
}
