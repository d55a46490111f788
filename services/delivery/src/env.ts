import { z } from "zod";
import { CommonEnv, parseEnv } from "@parley/runtime";

export const DeliveryEnv = CommonEnv.extend({
  /** `/metrics`, `/healthz`, `/readyz` for Prometheus and Kubernetes probes. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9102),
  /** How long a drain waits for in-flight jobs. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(25_000),
  /**
   * A gateway pod whose heartbeat (PRESENCE_HEARTBEAT_MS, default 5 s) is older than this is
   * dead and its sockets stop counting. With the flush below, a killed pod's users are
   * announced offline within TTL + 2 × flush (22 s by default; the contract says 30 s).
   */
  PRESENCE_TTL_MS: z.coerce.number().int().min(1_000).max(60_000).default(20_000),
  /** How often presence changes are taken and announced: the coalescing window. */
  PRESENCE_FLUSH_MS: z.coerce.number().int().min(50).max(10_000).default(1_000),
  /**
   * A user is announced offline only after being offline this long, so a flaky network's
   * drop-and-reconnect announces nothing wherever the flush windows fall.
   */
  PRESENCE_OFFLINE_GRACE_MS: z.coerce.number().int().min(0).max(10_000).default(2_000),
});
export type DeliveryEnv = z.infer<typeof DeliveryEnv>;

export const loadEnv = (source: Record<string, string | undefined> = process.env) => parseEnv(DeliveryEnv, source);
