import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { z } from "zod";

// Grafana's dashboard JSON, only what the queries need: panels (nested in rows in the
// newer layout, `rows[].panels[]` in the old one), their Prometheus targets, the template
// variables and annotation queries. Everything else passes through.
interface PanelJson {
  id?: number;
  title?: string;
  type?: string;
  targets?: { refId?: string; expr?: unknown; datasource?: unknown }[];
  panels?: PanelJson[];
}
const Panel: z.ZodType<PanelJson> = z.lazy(() =>
  z.looseObject({
    id: z.number().optional(),
    title: z.string().optional(),
    type: z.string().optional(),
    targets: z.array(z.looseObject({ refId: z.string().optional(), expr: z.unknown().optional(), datasource: z.unknown().optional() })).optional(),
    panels: z.array(Panel).optional(),
  }),
);
const Variable = z.looseObject({
  name: z.string(),
  type: z.string().optional(),
  query: z.unknown().optional(),
  current: z.looseObject({ value: z.unknown().optional() }).optional().nullable(),
  includeAll: z.boolean().optional(),
  multi: z.boolean().optional(),
});
const DashboardJson = z.looseObject({
  uid: z.string().optional(),
  title: z.string(),
  panels: z.array(Panel).optional(),
  rows: z.array(z.looseObject({ panels: z.array(Panel).optional() })).optional(),
  templating: z.looseObject({ list: z.array(Variable).optional() }).optional(),
  annotations: z.looseObject({ list: z.array(z.looseObject({ name: z.string().optional(), expr: z.string().optional() })).optional() }).optional(),
});

export interface PanelQuery {
  dashboard: Dashboard;
  panelId: number | undefined;
  panelTitle: string;
  refId: string;
  /** As written in the dashboard, with template variables. */
  raw: string;
  /** Ready for Prometheus: variables replaced. */
  expr: string;
  /** Why the variables could not be replaced (then `expr` is the raw query). */
  substitutionError?: string;
}

export interface Dashboard {
  file: string;
  uid: string | undefined;
  title: string;
  queries: PanelQuery[];
}

export interface CorePanel {
  dashboard: string;
  panel: string | number;
}

/**
 * Values for the variables Grafana fills in itself and for Parley's own template variables:
 * the namespace the local cluster pretends to run in, every pod, and intervals that hold
 * several 1 s scrapes.
 */
export const BUILTIN_VARIABLES: Record<string, string> = {
  namespace: "parley",
  pod: ".*",
  __rate_interval: "15s",
  __interval: "5s",
  __interval_ms: "5000",
  __range: "5m",
  __range_s: "300",
  __range_ms: "300000",
};

/** The query with its variables replaced, or the raw query and the reason it could not be. */
function prepare(raw: string, values: Record<string, string>): { expr: string; substitutionError?: string } {
  try {
    return { expr: substituteVariables(raw, values) };
  } catch (error) {
    return { expr: raw, substitutionError: (error as Error).message };
  }
}

function walk(panels: PanelJson[] | undefined, into: PanelJson[]): PanelJson[] {
  for (const panel of panels ?? []) {
    into.push(panel);
    walk(panel.panels, into);
  }
  return into;
}

function isPrometheusTarget(target: { refId?: string; expr?: unknown; datasource?: unknown }): target is { expr: string; refId?: string } {
  if (typeof target.expr !== "string" || target.expr.trim() === "") return false;
  const ds = target.datasource as { type?: unknown } | string | undefined | null;
  // A target with another datasource type (Loki, Tempo, "-- Grafana --") is not PromQL.
  return !(ds && typeof ds === "object" && typeof ds.type === "string" && ds.type !== "prometheus");
}

/** What each template variable of a dashboard stands for in a query: `.*` for "all" or a query variable, else its current value. */
function variableValues(json: z.infer<typeof DashboardJson>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const variable of json.templating?.list ?? []) {
    if (variable.type === "datasource") continue; // not in exprs
    const current = variable.current?.value;
    const first = Array.isArray(current) ? current[0] : current;
    if (typeof first === "string" && first !== "" && first !== "$__all" && !first.startsWith("$")) values[variable.name] = first;
    else values[variable.name] = ".*";
  }
  return { ...values, ...BUILTIN_VARIABLES };
}

/**
 * Replaces `$name`, `${name}` and `${name:format}` (and Grafana's old `[[name]]`) with their
 * values; throws on a variable the dashboard does not define, since Grafana would send it to
 * Prometheus as it is.
 */
export function substituteVariables(expr: string, values: Record<string, string>): string {
  // Names start with a letter or underscore: `$1` in a label_replace is PromQL's, not Grafana's.
  const pattern = /\$\{([A-Za-z_]\w*)(?::[^}]*)?\}|\[\[([A-Za-z_]\w*)(?::[^\]]*)?\]\]|\$([A-Za-z_]\w*)/g;
  return expr.replace(pattern, (match, braced?: string, bracketed?: string, bare?: string) => {
    const name = (braced ?? bracketed ?? bare)!;
    const value = values[name];
    if (value === undefined) throw new Error(`undefined template variable ${match} in: ${expr}`);
    return value;
  });
}

/** Every dashboard JSON of a directory with every panel's Prometheus query; throws when there is none. */
export function loadDashboards(dir: string): Dashboard[] {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")).sort() : [];
  if (files.length === 0) throw new Error(`no dashboards (*.json) in ${dir}`);
  return files.map((f) => {
    const file = join(dir, f);
    const json = DashboardJson.parse(JSON.parse(readFileSync(file, "utf8")));
    const values = variableValues(json);
    const dashboard: Dashboard = { file, uid: json.uid, title: json.title, queries: [] };
    const panels = walk([...(json.panels ?? []), ...(json.rows ?? []).flatMap((row) => row.panels ?? [])], []);
    for (const panel of panels) {
      for (const [i, target] of (panel.targets ?? []).entries()) {
        if (!isPrometheusTarget(target)) continue;
        dashboard.queries.push({
          dashboard,
          panelId: panel.id,
          panelTitle: panel.title ?? `(untitled ${panel.type ?? "panel"})`,
          refId: target.refId ?? String.fromCharCode(65 + i),
          raw: target.expr,
          ...prepare(target.expr, values),
        });
      }
    }
    for (const annotation of json.annotations?.list ?? []) {
      if (!annotation.expr) continue;
      dashboard.queries.push({
        dashboard,
        panelId: undefined,
        panelTitle: `annotation ${annotation.name ?? "(unnamed)"}`,
        refId: "annotation",
        raw: annotation.expr,
        ...prepare(annotation.expr, values),
      });
    }
    return dashboard;
  });
}

const CorePanels = z.array(z.object({ dashboard: z.string(), panel: z.union([z.string(), z.number()]) }));

/** The core panels list (`[{ dashboard, panel }]`); throws when the file does not exist. */
export function loadCorePanels(file: string): CorePanel[] {
  if (!existsSync(file)) throw new Error(`${file} does not exist: it must list the core panels`);
  return CorePanels.parse(JSON.parse(readFileSync(file, "utf8")));
}

/** A dashboard named by uid, title or file name (with or without `.json`). */
export function matchesDashboard(dashboard: Dashboard, name: string): boolean {
  return dashboard.uid === name || dashboard.title === name || basename(dashboard.file) === name || basename(dashboard.file, ".json") === name;
}

/** The queries of a core panel (named by title or id); empty when no panel matches. */
export function queriesOfPanel(dashboards: Dashboard[], core: CorePanel): PanelQuery[] {
  return dashboards
    .filter((d) => matchesDashboard(d, core.dashboard))
    .flatMap((d) => d.queries)
    .filter((q) => q.panelTitle === core.panel || q.panelId === core.panel || String(q.panelId) === String(core.panel));
}
