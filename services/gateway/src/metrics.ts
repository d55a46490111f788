import { AUTH_REFUSAL_CODES, SOCKET_CAP_REFUSAL_CODE } from "@parley/protocol";
import { eachOf, startAtZero } from "@parley/runtime";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

/** Every way a socket handshake ends: accepted, refused by the token check, by the cluster, by a socket cap, while draining, or for its origin. */
export const HANDSHAKE_OUTCOMES = ["accepted", ...AUTH_REFUSAL_CODES, "UNAVAILABLE", "INTERNAL", SOCKET_CAP_REFUSAL_CODE, "draining", "origin"] as const;

/** The membership limits a change can be refused by (parley_gateway_membership_limited_total's label). */
export const MEMBERSHIP_LIMITS = ["members_per_conversation", "conversations_per_user", "member_adds_per_minute"] as const;

/** Why admission control refused a send before queuing it (send/persist-admission.ts). */
export const ADMISSION_REFUSALS = ["persist_delay", "stream_bytes"] as const;
export type AdmissionRefusal = (typeof ADMISSION_REFUSALS)[number];

/** Base units, low-cardinality labels: never a user or conversation id. */
export function createGatewayMetrics(registry: Registry) {
  return {
    sockets: new Gauge({
      name: "parley_gateway_connected_sockets",
      help: "Sockets connected to this gateway pod.",
      registers: [registry],
    }),
    // Every outcome starts at 0, so the first refusal is an increase the alerts can see.
    handshakes: startAtZero(
      new Counter({
        name: "parley_gateway_handshakes_total",
        help: "Socket handshakes by outcome (accepted, AUTH_REQUIRED, AUTH_INVALID, AUTH_EXPIRED, AUTH_BANNED, UNAVAILABLE, INTERNAL, TOO_MANY_SOCKETS, draining, origin).",
        labelNames: ["outcome"] as const,
        registers: [registry],
      }),
      eachOf("outcome", HANDSHAKE_OUTCOMES),
    ),
    events: new Counter({
      name: "parley_gateway_events_total",
      help: "Socket.IO client events answered, by event name (oversized: a frame over the limit) and outcome (ok or the error code). HTTP requests are not counted here; every send, socket or HTTP, is in parley_gateway_send_ack_seconds.",
      labelNames: ["event", "outcome"] as const,
      registers: [registry],
    }),
    sendAckSeconds: new Histogram({
      name: "parley_gateway_send_ack_seconds",
      help: "From a message:send (socket or HTTP) arriving to its answer, by outcome.",
      labelNames: ["outcome"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    dbWaiting: new Gauge({
      name: "parley_gateway_db_waiting",
      help: "Request-path database calls waiting for a pool connection (at most DB_QUEUE_MAX).",
      registers: [registry],
    }),
    dbRefused: new Counter({
      name: "parley_gateway_db_refused_total",
      help: "Request-path database calls refused at once with UNAVAILABLE because DB_QUEUE_MAX calls were already waiting.",
      registers: [registry],
    }),
    dbTimeouts: new Counter({
      name: "parley_gateway_db_timeouts_total",
      help: "Request-path database calls answered UNAVAILABLE after DB_TIMEOUT_MS, their queries cancelled.",
      registers: [registry],
    }),
    membershipLookupsRefused: new Counter({
      name: "parley_gateway_membership_lookups_refused_total",
      help: "Membership look-ups that missed the cache and were refused with RATE_LIMITED: the user passed MEMBERSHIP_LOOKUPS_PER_SECOND on this pod.",
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: "parley_gateway_rate_limited_total",
      help: "Send attempts refused with RATE_LIMITED.",
      registers: [registry],
    }),
    // Admission control (send/persist-admission.ts): every reason starts at 0 for the alerts.
    admissionRefused: startAtZero(
      new Counter({
        name: "parley_gateway_admission_refused_total",
        help: "Sends refused before they were queued (UNAVAILABLE with retryAfterMs, nothing stored), by reason: persist_delay (the oldest uncommitted entry is older than ADMISSION_MAX_PERSIST_DELAY_MS) or stream_bytes (the persist stream is over PERSIST_STREAM_MAX_BYTES).",
        labelNames: ["reason"] as const,
        registers: [registry],
      }),
      eachOf("reason", ADMISSION_REFUSALS),
    ),
    persistDelaySeconds: new Gauge({
      name: "parley_gateway_persist_delay_seconds",
      help: "Age of the oldest persist stream entry not yet committed, in the partition where it is oldest, as this pod last sampled it for admission control.",
      registers: [registry],
    }),
    persistStreamBytes: new Gauge({
      name: "parley_gateway_persist_stream_bytes",
      help: "The persist streams' memory in Redis (MEMORY USAGE), all partitions together, as this pod last sampled it for admission control.",
      registers: [registry],
    }),
    enqueuedMessages: new Counter({
      name: "parley_gateway_enqueued_messages_total",
      help: "Messages appended to the persist stream.",
      registers: [registry],
    }),
    deliveredEnqueued: new Counter({
      name: "parley_gateway_delivered_enqueued_total",
      help: "message:delivered watermarks handed to the receipts queue (after coalescing per conversation and user).",
      registers: [registry],
    }),
    searchSeconds: new Histogram({
      name: "parley_gateway_search_seconds",
      help: "GET /v1/search from arrival to answer, by outcome (ok or the error code).",
      labelNames: ["outcome"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
      registers: [registry],
    }),
    syncs: new Counter({
      name: "parley_gateway_sync_total",
      help: "sync requests (a client catching up after a reconnect or a seq gap) by outcome (ok or the error code).",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    syncMessages: new Histogram({
      name: "parley_gateway_sync_messages",
      help: "Messages returned by one answered catch-up read, by request (sync: one answer over every conversation, at most 2,000; history: one page of messages:history or GET /v1/conversations/:id/messages).",
      labelNames: ["request"] as const,
      buckets: [0, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000],
      registers: [registry],
    }),
    disconnects: new Counter({
      name: "parley_gateway_disconnects_total",
      help: "Sockets disconnected from this pod, by Socket.IO's reason (transport close, ping timeout, client namespace disconnect, server namespace disconnect, server shutting down, …; other for anything unknown).",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    membershipLimited: startAtZero(
      new Counter({
        name: "parley_gateway_membership_limited_total",
        help: "Conversation creations and member adds refused by a membership limit (members_per_conversation, conversations_per_user: FORBIDDEN; member_adds_per_minute: RATE_LIMITED).",
        labelNames: ["limit"] as const,
        registers: [registry],
      }),
      eachOf("limit", MEMBERSHIP_LIMITS),
    ),
    receiptsNarrowed: new Counter({
      name: "parley_gateway_receipts_narrowed_total",
      help: "Receipts of conversations above RECEIPT_ROOM_MAX_MEMBERS, sent only to the senders of the messages read instead of the whole room.",
      registers: [registry],
    }),
    pendingAcks: new Gauge({
      name: "parley_gateway_pending_acks",
      help: "Sends waiting for the persister's commit.",
      registers: [registry],
    }),
  };
}
