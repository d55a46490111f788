import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildDashboards } from "../src/dashboards/index.js";

/** infra/grafana */
export const WORKSPACE = join(dirname(fileURLToPath(import.meta.url)), "..");

export interface Target {
  refId: string;
  expr: string;
  datasource?: unknown;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: unknown;
  targets?: Target[];
  links?: { title: string; url?: string }[];
}

export interface Dashboard {
  uid: string;
  title: string;
  tags: string[];
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: unknown; includeAll?: boolean; multi?: boolean; allValue?: string; datasource?: unknown }[] };
}

/** The committed dashboards, as Grafana reads them. */
export function committedDashboards(): Dashboard[] {
  return buildDashboards().map((d) => JSON.parse(readFileSync(join(WORKSPACE, "dashboards", `${d.uid}.json`), "utf8")) as Dashboard);
}

/** Every panel that queries (rows excluded). */
export function queryPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.filter((p) => p.type !== "row");
}

/** Every query of a dashboard, named for error messages. */
export function queries(dashboard: Dashboard): { where: string; expr: string }[] {
  return queryPanels(dashboard).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `${dashboard.uid} / "${p.title}" / ${t.refId}`, expr: t.expr })),
  );
}
