// Just enough of the Prometheus text format to diff histograms and counters between two
// scrapes of the services' /metrics (labels are summed away: the bench wants totals).

export type Scrape = Map<string, number>;

/** metric name (with `le` kept for buckets) → value summed over every other label. */
export async function scrape(url: string): Promise<Scrape> {
  const out: Scrape = new Map();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    const text = await response.text();
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
      if (!match) continue;
      const [, name, , labels, raw] = match;
      const le = labels ? /(?:^|,)le="([^"]*)"/.exec(labels)?.[1] : undefined;
      const key = le !== undefined ? `${name}{le=${le}}` : name!;
      const value = Number(raw);
      if (Number.isFinite(value)) out.set(key, (out.get(key) ?? 0) + value);
    }
  } catch {
    // A scrape that fails leaves the numbers out of the report; the run itself still counts.
  }
  return out;
}

export interface HistogramDelta {
  count: number;
  mean: number;
  /** Upper bound of the bucket holding the quantile (bucket resolution, not exact). */
  p50: number;
  p99: number;
  max: number;
}

export function histogramDelta(before: Scrape, after: Scrape, name: string): HistogramDelta | undefined {
  const count = (after.get(`${name}_count`) ?? 0) - (before.get(`${name}_count`) ?? 0);
  const sum = (after.get(`${name}_sum`) ?? 0) - (before.get(`${name}_sum`) ?? 0);
  if (!after.has(`${name}_count`)) return undefined;
  const buckets: Array<[number, number]> = [];
  for (const [key, value] of after) {
    const match = key.startsWith(`${name}_bucket{le=`) ? /le=([^}]*)\}$/.exec(key) : null;
    if (!match) continue;
    const le = match[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(match[1]);
    buckets.push([le, value - (before.get(key) ?? 0)]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const quantile = (q: number) => buckets.find(([, cumulative]) => cumulative >= q * count)?.[0] ?? Number.NaN;
  // The lowest bucket that holds every observation: an upper bound of the max.
  const max = buckets.find(([, cumulative]) => cumulative >= count)?.[0] ?? Number.NaN;
  return { count, mean: count > 0 ? sum / count : Number.NaN, p50: quantile(0.5), p99: quantile(0.99), max };
}

export function counterDelta(before: Scrape, after: Scrape, name: string): number {
  return (after.get(name) ?? 0) - (before.get(name) ?? 0);
}
