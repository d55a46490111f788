import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

export interface PressureGateOptions {
  /** Shed while the p99 event-loop delay of the last window is above this. */
  maxDelayMs: number;
  /** Length of a sampling window. */
  windowMs?: number;
  /**
   * Where the delay comes from: by default Node's event-loop delay histogram (p99 of the
   * window, in ms). Tests pass their own.
   */
  sample?: () => number;
}

/**
 * "Is this pod under pressure?", asked before work that may be dropped (typing). A blocked
 * event loop is the symptom every overload shares here (CPU, a GC storm, a flood of
 * frames), and it is cheap to watch: Node samples it for us. The answer is recomputed once
 * per window, so asking costs nothing.
 */
export class PressureGate {
  private readonly histogram: IntervalHistogram | undefined;
  private readonly sample: () => number;
  private timer: NodeJS.Timeout | undefined;
  private over = false;
  private lastDelayMs = 0;

  constructor(private readonly opts: PressureGateOptions) {
    if (opts.sample) {
      this.sample = opts.sample;
    } else {
      const histogram = monitorEventLoopDelay({ resolution: 10 });
      histogram.enable();
      this.histogram = histogram;
      this.sample = () => {
        const p99 = histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0;
        histogram.reset();
        return p99;
      };
    }
  }

  /** Samples every window from now on (the timer does not keep the process alive). */
  start(onSample?: (delayMs: number) => void): this {
    this.timer ??= setInterval(() => onSample?.(this.refresh()), this.opts.windowMs ?? 500);
    this.timer.unref();
    return this;
  }

  /** Takes a sample now and decides; returns the delay seen (ms). */
  refresh(): number {
    this.lastDelayMs = this.sample();
    this.over = this.lastDelayMs > this.opts.maxDelayMs;
    return this.lastDelayMs;
  }

  /** True while the last window was over the threshold: drop what may be dropped. */
  get shedding(): boolean {
    return this.over;
  }

  get delayMs(): number {
    return this.lastDelayMs;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
  }
}
