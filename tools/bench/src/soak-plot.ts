// The soak's plot: one SVG of each process's resident memory and open descriptors over time.
// Written by hand (a few polylines): the report is one file beside the JSON, no renderer needed.

export interface SoakSeries {
  name: string;
  /** [minutes since start, value]. */
  points: [number, number][];
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

function panel(title: string, unit: string, series: SoakSeries[], top: number, width: number, height: number): string {
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(1e-9, ...all.map((p) => p[0]));
  const maxY = Math.max(1e-9, ...all.map((p) => p[1])) * 1.1;
  const left = 70;
  const w = width - left - 160;
  const x = (v: number) => (left + (v / maxX) * w).toFixed(1);
  const y = (v: number) => (top + height - (v / maxY) * height).toFixed(1);
  const lines = series.map((s, i) => `<polyline fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="1.5" points="${s.points.map((p) => `${x(p[0])},${y(p[1])}`).join(" ")}"/>`);
  const legend = series.map((s, i) => `<text x="${left + w + 10}" y="${top + 14 + i * 16}" fill="${COLOURS[i % COLOURS.length]}">${s.name}</text>`);
  const ticks = [0, 0.5, 1].map((f) => `<text x="${left - 6}" y="${y(maxY * f)}" text-anchor="end">${(maxY * f).toFixed(0)}</text>`);
  return [
    `<text x="${left}" y="${top - 8}" font-weight="bold">${title} (${unit})</text>`,
    `<rect x="${left}" y="${top}" width="${w}" height="${height}" fill="none" stroke="#999"/>`,
    ...ticks,
    `<text x="${left + w}" y="${top + height + 16}" text-anchor="end">${maxX.toFixed(1)} min</text>`,
    ...lines,
    ...legend,
  ].join("\n");
}

export function soakSvg(memory: SoakSeries[], fds: SoakSeries[]): string {
  const width = 900;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="560" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
${panel("resident memory per process", "MiB", memory, 30, width, 220)}
${panel("open file descriptors per process", "count", fds, 310, width, 220)}
</svg>
`;
}

/** Least-squares slope of `points` (value per minute). */
export function slopePerMinute(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const num = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}
