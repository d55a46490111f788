import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { BenchChild } from "./child.js";
import { mergeFanoutShares } from "./fanout-merge.js";
import type { FanoutCommand, FanoutMember, FanoutReport, FanoutResult, FanoutRun, FanoutShare } from "./fanout-protocol.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Time the generators get to receive a run before its first message is due. */
const START_DELAY_MS = 250;

/** One forked fan-out load generator, driven by commands one at a time. */
class Generator {
  private waiting: { resolve: (r: FanoutReport) => void; reject: (e: Error) => void; types: FanoutReport["type"][] } | undefined;
  onReport: ((report: FanoutReport) => void) | undefined;

  constructor(readonly child: BenchChild) {
    child.process.on("message", (report: FanoutReport) => {
      this.onReport?.(report);
      if (this.waiting?.types.includes(report.type)) {
        const { resolve } = this.waiting;
        this.waiting = undefined;
        resolve(report);
      }
    });
    child.process.once("exit", (code) => this.waiting?.reject(new Error(`${child.name} exited (${code})`)));
  }

  /** True while a request waits for one of these report types (its error goes there, not to the log). */
  awaits(type: FanoutReport["type"]): boolean {
    return this.waiting?.types.includes(type) ?? false;
  }

  request(command: FanoutCommand, types: FanoutReport["type"][]): Promise<FanoutReport> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject, types };
      this.child.process.send(command);
    });
  }

  async close(): Promise<void> {
    if (this.child.hasExited) return;
    this.child.process.send({ type: "close" });
    await Promise.race([new Promise((r) => this.child.process.once("exit", r)), sleep(3000)]);
    await this.child.stop(2000);
  }
}

/**
 * The fan-out load, split over several forked generators (fanout-loadgen.ts): each holds a
 * share of the members' sockets and sends the messages of its share's senders, on one
 * schedule from one start time; their shares are merged into one result (fanout-merge.ts).
 * One generator's single thread would otherwise cap what the bench can measure.
 */
export class FanoutLoadGenerators {
  /** The first generator's phases (every generator runs the same schedule). */
  onPhase: ((phase: string) => void) | undefined;
  private readonly generators: Generator[];
  private members = 0;

  constructor(
    children: readonly BenchChild[],
    private readonly log: (line: string) => void,
  ) {
    this.generators = children.map((child, g) => {
      const generator = new Generator(child);
      generator.onReport = (report) => {
        if (report.type === "progress") {
          this.log(`  [${report.label} · generator ${g + 1}] t=${(report.elapsedMs / 1000).toFixed(0)}s sent=${report.sent} acked=${report.acked} delivered=${report.delivered}`);
        } else if (report.type === "phase" && g === 0) {
          this.onPhase?.(report.phase);
        } else if (report.type === "error" && !generator.awaits("error")) {
          this.log(`  fan-out ${child.name}: ${report.message}`);
        }
      };
      return generator;
    });
  }

  /** `concurrency`: handshakes in flight at once, over all generators together. */
  async connect(urls: string[], conversationId: string, members: FanoutMember[], concurrency: number): Promise<void> {
    this.members = members.length;
    const each = Math.max(1, Math.ceil(concurrency / this.generators.length));
    const reports = await Promise.all(
      this.generators.map((g, generator) =>
        g.request({ type: "connect", urls, conversationId, members, generator, generators: this.generators.length, concurrency: each }, ["connected", "error"]),
      ),
    );
    const failed = reports.find((r) => r.type === "error");
    if (failed?.type === "error") throw new Error(`a fan-out load generator could not connect: ${failed.message}`);
    const counts = reports.map((r) => (r.type === "connected" ? `${r.sockets} in ${r.ms} ms` : "?"));
    this.log(`  sockets connected, per generator: ${counts.join(", ")}`);
  }

  async run(command: Omit<FanoutRun, "type" | "runId" | "startAt">): Promise<FanoutResult> {
    const run: FanoutRun = { type: "run", ...command, runId: randomUUID(), startAt: performance.timeOrigin + performance.now() + START_DELAY_MS };
    const reports = await Promise.all(this.generators.map((g) => g.request(run, ["result"])));
    const shares: FanoutShare[] = reports.map((r) => {
      if (r.type !== "result") throw new Error("unexpected answer from a fan-out load generator");
      return r.share;
    });
    return mergeFanoutShares(run, this.members, shares);
  }

  async close(): Promise<void> {
    await Promise.all(this.generators.map((g) => g.close()));
  }
}
