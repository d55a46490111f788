import { startFaultCluster, type FaultCluster, type FaultClusterOptions } from "./fault-cluster.js";
import { startLoad, type Load, type LoadOptions } from "./load.js";
import { verifyScenario, type Verdict, type VerifyOptions } from "./verify.js";

export interface ScenarioOptions {
  cluster: Omit<FaultClusterOptions, "adminDatabaseUrl">;
  /**
   * Default: 12 users in 4 conversations, 20 sends/s. The SDK sends a user's messages to one
   * conversation one at a time (their order is kept), so the rate per user and conversation
   * (here about 0.4/s) must stay under 1 / ack latency, or the outboxes queue: on a busy 2-core
   * machine an ack can take a second.
   */
  load?: Partial<LoadOptions>;
  /** Load before the fault, ms (default 2,000). */
  warmMs?: number;
  /** Load after the fault step returned, ms (default 3,000): the recovery happens under it. */
  afterMs?: number;
  recoveryBoundMs: number;
  verify?: Omit<VerifyOptions, "faultAt" | "recoveryBoundMs">;
}

export interface ScenarioContext {
  cluster: FaultCluster;
  load: Load;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One fault scenario, start to end: the cluster, load on it, `fault` (break something, and
 * heal it the way production would), more load, then the verifier's assertions. Everything
 * is stopped afterwards, passed or not. Resolves with the verdict (its `violations` must be empty).
 */
export async function runScenario(
  name: string,
  adminDatabaseUrl: string,
  options: ScenarioOptions,
  fault: (ctx: ScenarioContext) => Promise<void>,
): Promise<Verdict & ScenarioContext> {
  const cluster = await startFaultCluster({ adminDatabaseUrl, ...options.cluster });
  let load: Load | undefined;
  try {
    load = await startLoad(cluster, { users: 12, conversations: 4, ratePerSecond: 20, ...options.load });
    await sleep(options.warmMs ?? 2_000);
    const faultAt = Date.now();
    await fault({ cluster, load });
    await sleep(options.afterMs ?? 3_000);
    const verdict = await verifyScenario(name, cluster, load, { faultAt, recoveryBoundMs: options.recoveryBoundMs, ...options.verify });
    return { ...verdict, cluster, load };
  } finally {
    await load?.close();
    await cluster.stop();
  }
}
