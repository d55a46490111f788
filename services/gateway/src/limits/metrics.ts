import { eachOf, startAtZero } from "@parley/runtime";
import { Counter, Gauge, type Registry } from "prom-client";
import { LIMIT_CLASSES } from "./limit-classes.js";

export type LimitMetrics = ReturnType<typeof createLimitMetrics>;

/** The gateway's limits on users, sockets and connections. Base units, low-cardinality labels. */
export function createLimitMetrics(registry: Registry) {
  return {
    // Every class starts at 0, so the first refusal is an increase a rate() can see.
    refused: startAtZero(
      new Counter({
        name: "parley_gateway_rate_limit_refusals_total",
        help: "Attempts refused RATE_LIMITED by the per-user limits, by class (send, changes, reads, search, typing, receipts, conversations, auth) and where the refusal was decided (redis: the shared bucket was empty; local: the pod knew it still was).",
        labelNames: ["class", "where"] as const,
        registers: [registry],
      }),
      LIMIT_CLASSES.flatMap((c) => [{ class: c, where: "redis" }, { class: c, where: "local" }]),
    ),
    calls: new Counter({
      name: "parley_gateway_rate_limit_calls_total",
      help: "Redis calls made by the per-user limits (one call takes the tokens of every attempt of an event-loop turn).",
      registers: [registry],
    }),
    buckets: new Counter({
      name: "parley_gateway_rate_limit_buckets_total",
      help: "Buckets (one per user and class) taken from in those calls: divided by the calls, the attempts a call carries.",
      registers: [registry],
    }),
    inFlightRefused: new Counter({
      name: "parley_gateway_events_in_flight_refusals_total",
      help: "Client events refused RATE_LIMITED unhandled because their socket already had SOCKET_EVENTS_IN_FLIGHT_MAX events unanswered.",
      registers: [registry],
    }),
    socketCapRefused: startAtZero(
      new Counter({
        name: "parley_gateway_socket_cap_refusals_total",
        help: "Handshakes refused TOO_MANY_SOCKETS, by cap (user: SOCKETS_PER_USER_MAX across the cluster; ip: SOCKETS_PER_IP_MAX on this pod).",
        labelNames: ["cap"] as const,
        registers: [registry],
      }),
      eachOf("cap", ["user", "ip"] as const),
    ),
    socketAddresses: new Gauge({
      name: "parley_gateway_socket_addresses",
      help: "Distinct client addresses with a socket open (or opening) on this pod.",
      registers: [registry],
    }),
    slowConsumers: new Counter({
      name: "parley_gateway_slow_consumer_disconnects_total",
      help: "Sockets closed because what waited to be written to them passed SOCKET_SEND_BUFFER_MAX_BYTES (a client that does not read).",
      registers: [registry],
    }),
    oversizedFrames: new Counter({
      name: "parley_gateway_oversized_frame_disconnects_total",
      help: "Connections closed because one frame passed 64 KiB (refused by the transport before it was parsed).",
      registers: [registry],
    }),
  };
}
