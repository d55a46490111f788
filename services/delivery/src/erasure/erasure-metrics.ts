import { Counter, type Registry } from "prom-client";

export type ErasureMetrics = ReturnType<typeof createErasureMetrics>;

export function createErasureMetrics(registry: Registry) {
  return {
    tombstoned: new Counter({
      name: "parley_erasure_tombstoned_total",
      help: "Messages made tombstones by user erasures (DELETE /v1/admin/users/:userId).",
      registers: [registry],
    }),
    erasures: new Counter({
      name: "parley_erasures_total",
      help: "User erasures finished (every step done; a run again of an erased user counts again).",
      registers: [registry],
    }),
  };
}
