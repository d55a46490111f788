/**
 * The agreed metric catalogue the dashboards may query: the services' metrics (existing ones
 * and those the metrics work of issue 4 adds under these exact names), BullMQ's queue export,
 * prom-client's Node runtime metrics and Prometheus's own `up`.
 *
 * The metrics work writes `docs/metrics.md` as the reference for operators; once both are on
 * `main`, the check in test/queries.test.ts can read the names from there instead of this list.
 * Until then this list is the contract, kept by hand: a dashboard query naming anything else
 * fails that test.
 */
export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricEntry {
  name: string;
  type: MetricType;
  /** Who exports it: a Parley service, all of them (runtime), or Prometheus itself. */
  source: "gateway" | "persister" | "delivery" | "every service" | "prometheus";
}

const gateway = (name: string, type: MetricType): MetricEntry => ({ name, type, source: "gateway" });
const persister = (name: string, type: MetricType): MetricEntry => ({ name, type, source: "persister" });
const delivery = (name: string, type: MetricType): MetricEntry => ({ name, type, source: "delivery" });
const everyService = (name: string, type: MetricType): MetricEntry => ({ name, type, source: "every service" });

export const METRIC_CATALOGUE: readonly MetricEntry[] = [
  // Gateway (services/gateway/src/metrics.ts, presence/metrics.ts, typing/metrics.ts).
  gateway("parley_gateway_connected_sockets", "gauge"),
  gateway("parley_gateway_handshakes_total", "counter"),
  gateway("parley_gateway_events_total", "counter"),
  gateway("parley_gateway_send_ack_seconds", "histogram"),
  gateway("parley_gateway_rate_limited_total", "counter"),
  gateway("parley_gateway_enqueued_messages_total", "counter"),
  gateway("parley_gateway_delivered_enqueued_total", "counter"),
  gateway("parley_gateway_search_seconds", "histogram"),
  gateway("parley_gateway_pending_acks", "gauge"),
  gateway("parley_gateway_event_loop_delay_p99_seconds", "gauge"),
  gateway("parley_typing_forwarded_total", "counter"),
  gateway("parley_typing_throttled_total", "counter"),
  gateway("parley_typing_shed_total", "counter"),
  gateway("parley_presence_heartbeats_total", "counter"),
  gateway("parley_presence_resyncs_total", "counter"),
  // Gateway, added by the metrics work.
  gateway("parley_gateway_sync_total", "counter"),
  gateway("parley_gateway_sync_messages", "histogram"),
  gateway("parley_gateway_disconnects_total", "counter"),

  // Persister (services/persister/src/metrics.ts).
  persister("parley_persist_batch_size", "histogram"),
  persister("parley_persist_commit_duration_seconds", "histogram"),
  persister("parley_persist_lag_seconds", "histogram"),
  persister("parley_persist_messages_total", "counter"),
  persister("parley_persist_jobs_failed_total", "counter"),
  persister("parley_persist_handoffs_total", "counter"),
  // Persister, added by the metrics work.
  persister("parley_persist_fanout_seconds", "histogram"),

  // Delivery (services/delivery/src/metrics.ts, presence/metrics.ts).
  delivery("parley_delivery_job_duration_seconds", "histogram"),
  delivery("parley_delivery_receipts_applied_total", "counter"),
  delivery("parley_delivery_receipts_moved_total", "counter"),
  delivery("parley_delivery_receipts_emitted_total", "counter"),
  delivery("parley_delivery_receipt_batch_size", "histogram"),
  delivery("parley_delivery_notifications_sent_total", "counter"),
  delivery("parley_delivery_notifications_failed_total", "counter"),
  delivery("parley_delivery_notifications_skipped_total", "counter"),
  delivery("parley_delivery_notifications_collapsed_total", "counter"),
  delivery("parley_delivery_notification_windows_total", "counter"),
  delivery("parley_presence_events_total", "counter"),
  delivery("parley_presence_coalesced_total", "counter"),
  delivery("parley_presence_offline_deferred_total", "counter"),
  delivery("parley_presence_sweeps_total", "counter"),
  delivery("parley_presence_swept_pods_total", "counter"),
  delivery("parley_presence_flush_duration_seconds", "histogram"),
  delivery("parley_presence_flush_errors_total", "counter"),
  delivery("parley_presence_last_seen_write_errors_total", "counter"),

  // Every service, added by the metrics work.
  everyService("parley_up", "gauge"),
  everyService("parley_ready", "gauge"),

  // BullMQ's own export (Queue.exportPrometheusMetrics): `persist` from the persister,
  // `receipts`, `notify`, `push` from the delivery service.
  everyService("bullmq_job_count", "gauge"),
  everyService("bullmq_job_completed_total", "counter"),
  everyService("bullmq_job_failed_total", "counter"),

  // prom-client's collectDefaultMetrics, on every service.
  everyService("process_cpu_seconds_total", "counter"),
  everyService("process_cpu_user_seconds_total", "counter"),
  everyService("process_cpu_system_seconds_total", "counter"),
  everyService("process_resident_memory_bytes", "gauge"),
  everyService("process_virtual_memory_bytes", "gauge"),
  everyService("process_heap_bytes", "gauge"),
  everyService("process_open_fds", "gauge"),
  everyService("process_max_fds", "gauge"),
  everyService("process_start_time_seconds", "gauge"),
  everyService("nodejs_eventloop_lag_seconds", "gauge"),
  everyService("nodejs_eventloop_lag_min_seconds", "gauge"),
  everyService("nodejs_eventloop_lag_max_seconds", "gauge"),
  everyService("nodejs_eventloop_lag_mean_seconds", "gauge"),
  everyService("nodejs_eventloop_lag_stddev_seconds", "gauge"),
  everyService("nodejs_eventloop_lag_p50_seconds", "gauge"),
  everyService("nodejs_eventloop_lag_p90_seconds", "gauge"),
  everyService("nodejs_eventloop_lag_p99_seconds", "gauge"),
  everyService("nodejs_active_handles", "gauge"),
  everyService("nodejs_active_handles_total", "gauge"),
  everyService("nodejs_active_requests", "gauge"),
  everyService("nodejs_active_requests_total", "gauge"),
  everyService("nodejs_active_resources", "gauge"),
  everyService("nodejs_active_resources_total", "gauge"),
  everyService("nodejs_heap_size_total_bytes", "gauge"),
  everyService("nodejs_heap_size_used_bytes", "gauge"),
  everyService("nodejs_external_memory_bytes", "gauge"),
  everyService("nodejs_heap_space_size_total_bytes", "gauge"),
  everyService("nodejs_heap_space_size_used_bytes", "gauge"),
  everyService("nodejs_heap_space_size_available_bytes", "gauge"),
  everyService("nodejs_version_info", "gauge"),
  everyService("nodejs_gc_duration_seconds", "histogram"),

  // Prometheus's own series for every scrape target.
  { name: "up", type: "gauge", source: "prometheus" },
];

/** Every series name a query may select: histograms as their _bucket, _sum and _count series. */
export function queryableSeriesNames(catalogue: readonly MetricEntry[] = METRIC_CATALOGUE): Set<string> {
  const names = new Set<string>();
  for (const metric of catalogue) {
    if (metric.type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(metric.name + suffix);
    else names.add(metric.name);
  }
  return names;
}
