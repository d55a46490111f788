import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/**
 * docs/metrics.md is the one catalogue of the metrics Parley exports: the services' process
 * test checks it against their /metrics, the dashboards' and the rules' tests check that every
 * query names only its families. This reads its two marked tables, Parley's own families
 * (`<!-- metrics:start -->`) and prom-client's Node runtime families (`<!-- runtime-metrics:start -->`).
 */
export const SERVICES = ["gateway", "persister", "delivery"] as const;
export type Service = (typeof SERVICES)[number];

const MetricType = z.enum(["counter", "gauge", "histogram"]);
export type MetricType = z.infer<typeof MetricType>;

const Entry = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, "a metric name (lower case, digits, _)"),
  type: MetricType,
  labels: z.array(z.string()),
  services: z.array(z.enum(SERVICES)).min(1),
  /** prom-client's collectDefaultMetrics rather than Parley's code. */
  runtime: z.boolean(),
});
export type CatalogueEntry = z.infer<typeof Entry>;

/** Where the catalogue lives, from this package's dist/ or src/. */
export const CATALOGUE_FILE = fileURLToPath(new URL("../../../docs/metrics.md", import.meta.url));

const TABLES = [
  { marker: "metrics", runtime: false },
  { marker: "runtime-metrics", runtime: true },
] as const;

/** A markdown table row's cells; a pipe escaped inside a cell (`a\|b` in a query) is no column break. */
const cells = (line: string) =>
  line
    .trim()
    .replace(/^\|/, "")
    .replace(/(?<!\\)\|$/, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

function readTable(markdown: string, marker: string, runtime: boolean): CatalogueEntry[] {
  const body = new RegExp(`<!-- ${marker}:start[^>]*-->([\\s\\S]*?)<!-- ${marker}:end -->`).exec(markdown)?.[1];
  if (body === undefined) throw new Error(`the metric catalogue has no table between <!-- ${marker}:start --> and <!-- ${marker}:end -->`);
  const lines = body.split("\n").filter((l) => l.trim().startsWith("|"));
  // A column is known by its header's first word ("labels (values)" is the labels column).
  const header = cells(lines[0] ?? "").map((h) => h.split(" ")[0]!);
  const column = (name: string) => header.indexOf(name);
  if (column("metric") < 0 || column("type") < 0) throw new Error(`the ${marker} table needs the columns metric and type, has: ${header.join(", ")}`);
  return lines
    .slice(2) // the header and its |---| line
    .map((line) => {
      const row = cells(line);
      const cell = (name: string) => (column(name) >= 0 ? (row[column(name)] ?? "") : "");
      const parsed = Entry.safeParse({
        name: cell("metric").replaceAll("`", ""),
        type: cell("type"),
        // Label names are the backticked words of the labels cell; their values are plain text.
        labels: [...cell("labels").matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!).sort(),
        services: column("services") >= 0 ? cell("services").split(",").map((s) => s.trim()).sort() : [...SERVICES].sort(),
        runtime,
      });
      if (!parsed.success) throw new Error(`unreadable row of the ${marker} table: ${line}\n${z.prettifyError(parsed.error)}`);
      return parsed.data;
    });
}

/** The catalogue in a markdown text: every family of both tables, each once. */
export function parseMetricCatalogue(markdown: string): CatalogueEntry[] {
  const entries = TABLES.flatMap(({ marker, runtime }) => readTable(markdown, marker, runtime));
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw new Error(`the metric catalogue lists ${e.name} twice`);
    seen.add(e.name);
  }
  return entries;
}

export function readMetricCatalogue(file: string = CATALOGUE_FILE): CatalogueEntry[] {
  return parseMetricCatalogue(readFileSync(file, "utf8"));
}

/** Every series name a query may select: a histogram as its _bucket, _sum and _count series. */
export function queryableSeriesNames(catalogue: readonly Pick<CatalogueEntry, "name" | "type">[]): Set<string> {
  const names = new Set<string>();
  for (const metric of catalogue) {
    if (metric.type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(metric.name + suffix);
    else names.add(metric.name);
  }
  return names;
}
