import { Counter, Gauge, type Registry } from "prom-client";

export type TypingMetrics = ReturnType<typeof createTypingMetrics>;

/** Typing traffic and the pressure gate. Base units, low-cardinality labels. */
export function createTypingMetrics(registry: Registry) {
  return {
    forwarded: new Counter({
      name: "parley_typing_forwarded_total",
      help: "typing events sent to conversation rooms, by cause (start, stop, expired: 6 s without a refresh, gone: the typist's last socket here closed).",
      labelNames: ["cause"] as const,
      registers: [registry],
    }),
    throttled: new Counter({
      name: "parley_typing_throttled_total",
      help: "typing:start refreshes not forwarded because the same user and conversation was forwarded within the throttle window.",
      registers: [registry],
    }),
    shed: new Counter({
      name: "parley_typing_shed_total",
      help: "typing:start events dropped because the pod was under pressure (event-loop delay over the threshold).",
      registers: [registry],
    }),
    loopDelay: new Gauge({
      name: "parley_gateway_event_loop_delay_p99_seconds",
      help: "p99 event-loop delay over the pressure gate's last sampling window.",
      registers: [registry],
    }),
  };
}
