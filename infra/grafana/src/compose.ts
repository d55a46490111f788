import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { DEFAULT_RUNBOOK_BASE_URL } from "@parley/prometheus-rules";
import { runbookLink } from "./links.js";
import { DATASOURCE, type Panel } from "./panels.js";
import { Q, type Scope } from "./promql.js";

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  /** Extra tags besides `parley`. */
  tags?: string[];
  /**
   * The series whose `pod` label lists this dashboard's pods (the `pod` variable). Without it
   * the dashboard is cluster-wide and has no `pod` variable.
   */
  podsFrom?: string;
}

/** How the generator builds the dashboards: the same option as the alert rules' generator (infra/prometheus). */
export interface DashboardOptions {
  /** Where docs/runbooks/ is served; a runbook link is `<base>/<alert name>.md`. */
  runbookBaseUrl?: string;
}

/** A generated dashboard and the titles of its core panels (those that must show data under light load). */
export interface BuiltDashboard {
  uid: string;
  json: dashboard.Dashboard;
  corePanels: string[];
}

const ALL: dashboard.VariableOption = { selected: true, text: "All", value: "$__all" };

/**
 * The variables every Parley dashboard has: the Prometheus datasource, the namespace (All by
 * default; a local cluster has no namespace label, and All's `.*` matches series without it)
 * and, on per-pod dashboards, the pods.
 */
function variables(spec: DashboardSpec): (dashboard.DatasourceVariableBuilder | dashboard.QueryVariableBuilder)[] {
  const list: (dashboard.DatasourceVariableBuilder | dashboard.QueryVariableBuilder)[] = [
    new dashboard.DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"),
    new dashboard.QueryVariableBuilder("namespace")
      .label("Namespace")
      .datasource(DATASOURCE)
      .query("label_values(parley_ready, namespace)")
      .definition("label_values(parley_ready, namespace)")
      .refresh(dashboard.VariableRefresh.OnDashboardLoad)
      .sort(dashboard.VariableSort.AlphabeticalAsc)
      .includeAll(true)
      .allValue(".*")
      .current(ALL),
  ];
  if (spec.podsFrom) {
    const query = `label_values(${spec.podsFrom}{namespace=~"$namespace"}, pod)`;
    list.push(
      new dashboard.QueryVariableBuilder("pod")
        .label("Pod")
        .datasource(DATASOURCE)
        .query(query)
        .definition(query)
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue(".*")
        .current(ALL),
    );
  }
  return list;
}

/**
 * Builds one dashboard: rows of panels laid out left to right, stable panel ids, the Parley
 * variables, and a link menu to the other Parley dashboards (same time range and variables).
 */
export class ParleyDashboard {
  readonly q: Q;
  private readonly builder: dashboard.DashboardBuilder;
  private readonly core: string[] = [];
  private readonly titles = new Set<string>();
  private readonly runbookBaseUrl: string;

  constructor(
    private readonly spec: DashboardSpec,
    { runbookBaseUrl = DEFAULT_RUNBOOK_BASE_URL }: DashboardOptions = {},
  ) {
    this.runbookBaseUrl = runbookBaseUrl;
    const scope: Scope = { pod: spec.podsFrom !== undefined };
    this.q = new Q(scope);
    this.builder = new dashboard.DashboardBuilder(spec.title)
      .uid(spec.uid)
      .description(spec.description)
      .tags(["parley", ...(spec.tags ?? [])])
      .editable()
      .tooltip(dashboard.DashboardCursorSync.Crosshair)
      .time({ from: "now-1h", to: "now" })
      .refresh("30s")
      .timezone("browser")
      .variables(variables(spec))
      .annotations([])
      .link(
        new dashboard.DashboardLinkBuilder("Parley")
          .type(dashboard.DashboardLinkType.Dashboards)
          .tags(["parley"])
          .asDropdown(true)
          .includeVars(true)
          .keepTime(true),
      );
  }

  row(title: string): this {
    this.claim(title);
    this.builder.withRow(new dashboard.RowBuilder(title));
    return this;
  }

  /** Adds a panel; `core` panels must return data on a local cluster under light load. */
  panel({ builder, runbooks }: Panel, options: { core?: boolean } = {}): this {
    const title = builder.build().title ?? "";
    this.claim(title);
    if (options.core) this.core.push(title);
    if (runbooks.length) builder.links(runbooks.map((alert) => runbookLink(alert, this.runbookBaseUrl)));
    this.builder.withPanel(builder);
    return this;
  }

  /** Titles name panels in core-panels.json and in the proof's reports: one panel per title. */
  private claim(title: string): void {
    if (this.titles.has(title)) throw new Error(`${this.spec.uid}: two panels titled "${title}"`);
    this.titles.add(title);
  }

  build(): BuiltDashboard {
    const json = this.builder.build();
    // Stable ids in layout order, so panel links (viewPanel=…) survive a regeneration.
    (json.panels ?? []).forEach((panel, index) => {
      panel.id = index + 1;
    });
    return { uid: this.spec.uid, json, corePanels: [...this.core] };
  }
}
