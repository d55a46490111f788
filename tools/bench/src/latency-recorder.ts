import type { LatencySummary } from "./loadgen-protocol.js";

/**
 * Exact latencies (ms) in a growable Float64Array: a run records at most a few hundred
 * thousand values, so sorting them once at the end is cheaper and simpler than a histogram
 * and has no bucket error.
 */
export class LatencyRecorder {
  private buffer = new Float64Array(1 << 16);
  private size = 0;

  record(ms: number): void {
    if (this.size === this.buffer.length) {
      const bigger = new Float64Array(this.buffer.length * 2);
      bigger.set(this.buffer);
      this.buffer = bigger;
    }
    this.buffer[this.size++] = ms;
  }

  /** The values recorded so far (a copy, to hand to another process). */
  values(): Float64Array {
    return this.buffer.slice(0, this.size);
  }

  /** Records every value of `values`. */
  recordAll(values: Float64Array): void {
    for (const v of values) this.record(v);
  }

  get count(): number {
    return this.size;
  }

  summary(): LatencySummary {
    const n = this.size;
    if (n === 0) return { count: 0, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, p999: Number.NaN, max: Number.NaN, mean: Number.NaN };
    const sorted = this.buffer.slice(0, n).sort();
    // Nearest-rank percentile: the smallest value with at least q of the samples at or below it.
    const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] ?? Number.NaN;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i] ?? 0;
    return { count: n, p50: at(0.5), p95: at(0.95), p99: at(0.99), p999: at(0.999), max: sorted[n - 1] ?? Number.NaN, mean: sum / n };
  }
}
