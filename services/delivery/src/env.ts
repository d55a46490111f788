import { z } from "zod";
import { CommonEnv, parseEnv } from "@parley/runtime";

export const DeliveryEnv = CommonEnv.extend({
  /** `/metrics`, `/healthz`, `/readyz` for Prometheus and Kubernetes probes. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9102),
  /** How long a drain waits for in-flight jobs. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(25_000),
});
export type DeliveryEnv = z.infer<typeof DeliveryEnv>;

export const loadEnv = (source: Record<string, string | undefined> = process.env) => parseEnv(DeliveryEnv, source);
