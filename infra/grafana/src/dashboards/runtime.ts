import { type BuiltDashboard, type DashboardOptions, ParleyDashboard } from "../compose.js";
import { gauge, table, timeseries } from "../panels.js";
import { POD_LEGEND } from "../promql.js";

/** Series of one process: its service and pod (Kubernetes) or scrape address. */
const PROCESS = ["service", "pod", "instance"] as const;
const PROCESS_LEGEND = `{{service}} ${POD_LEGEND}`;

/** Node.js runtime of every Parley process (prom-client's default metrics). */
export function runtimeDashboard(options: DashboardOptions = {}): BuiltDashboard {
  const d = new ParleyDashboard({
    uid: "parley-runtime",
    title: "Parley / Runtime",
    description: "Node.js runtime of every Parley pod: CPU, memory, heap, event-loop lag, garbage collection, handles and file descriptors, restarts.",
    tags: ["runtime"],
    podsFrom: "parley_ready",
  }, options);
  const { q } = d;
  const by = `sum by (${PROCESS.join(", ")})`;
  /**
   * Only Parley's processes: any Node or Go process Prometheus scrapes (Prometheus itself
   * included) exports process_* series. Parley's are the scrape targets that also export
   * parley_ready; matching on the target (job, instance) works whatever other labels the
   * scrape configuration adds.
   */
  const parley = (series: string) => `${series} and on (job, instance) ${q.sel("parley_ready")}`;

  d.row("CPU and memory")
    .panel(
      timeseries({
        title: "CPU per pod",
        description: "CPU time used per second (1 = one core). Node runs JavaScript on one core: a gateway near 1 is saturated whatever its CPU limit.",
        queries: [{ expr: `${by} (${parley(q.rate("process_cpu_seconds_total"))})`, legend: PROCESS_LEGEND }],
        unit: "percentunit",
        min: 0,
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Resident memory",
        description: "Resident set size per pod: what the container's memory limit counts.",
        queries: [{ expr: `${by} (${parley(q.sel("process_resident_memory_bytes"))})`, legend: PROCESS_LEGEND }],
        unit: "bytes",
        min: 0,
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Heap used",
        description: "V8 heap used per pod (solid) against the heap's current size; steady growth under steady load suggests a leak.",
        queries: [
          { expr: `${by} (${parley(q.sel("nodejs_heap_size_used_bytes"))})`, legend: `used ${PROCESS_LEGEND}` },
          { expr: `${by} (${parley(q.sel("nodejs_heap_size_total_bytes"))})`, legend: `size ${PROCESS_LEGEND}` },
        ],
        unit: "bytes",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "External memory",
        description: "Memory held outside the V8 heap (Buffers: socket frames, Redis and Postgres replies).",
        queries: [{ expr: `${by} (${parley(q.sel("nodejs_external_memory_bytes"))})`, legend: PROCESS_LEGEND }],
        unit: "bytes",
        min: 0,
      }),
    );

  d.row("Event loop and garbage collection")
    .panel(
      timeseries({
        title: "Event-loop lag",
        description: "p99 and mean event-loop lag per pod (prom-client's monitorEventLoopDelay). Lag delays every socket of the pod and every job of the worker.",
        queries: [
          { expr: `${by} (${parley(q.sel("nodejs_eventloop_lag_p99_seconds"))})`, legend: `p99 ${PROCESS_LEGEND}` },
          { expr: `${by} (${parley(q.sel("nodejs_eventloop_lag_mean_seconds"))})`, legend: `mean ${PROCESS_LEGEND}` },
        ],
        unit: "s",
        min: 0,
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Time in garbage collection",
        description: "Share of time spent in GC pauses per pod and kind (major, minor, incremental, weakcb).",
        queries: [
          {
            expr: `sum by (service, pod, instance, kind) (${parley(q.rate("nodejs_gc_duration_seconds_sum"))})`,
            legend: `{{kind}} ${PROCESS_LEGEND}`,
          },
        ],
        unit: "percentunit",
        min: 0,
      }),
    );

  d.row("Handles and restarts")
    .panel(
      timeseries({
        title: "Open file descriptors",
        description: "Open file descriptors per pod (sockets included); the process's limit is process_max_fds.",
        queries: [{ expr: `${by} (${parley(q.sel("process_open_fds"))})`, legend: PROCESS_LEGEND }],
        unit: "short",
        min: 0,
      }),
    )
    .panel(
      gauge({
        title: "File descriptors in use",
        description: "Open file descriptors as a share of each process's limit (process_max_fds). Every socket holds one: a gateway near its limit refuses connections.",
        queries: [
          {
            expr: `max by (${PROCESS.join(", ")}) (${parley(`${q.sel("process_open_fds")} / ${q.sel("process_max_fds")}`)})`,
            legend: PROCESS_LEGEND,
          },
        ],
        unit: "percentunit",
        min: 0,
        max: 1,
        steps: [
          { value: null, color: "green" },
          { value: 0.7, color: "orange" },
          { value: 0.9, color: "red" },
        ],
      }),
    )
    .panel(
      timeseries({
        title: "Active handles",
        description: "libuv handles (sockets, timers, servers) keeping each process alive.",
        queries: [{ expr: `${by} (${parley(q.sel("nodejs_active_handles_total"))})`, legend: PROCESS_LEGEND }],
        unit: "short",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Uptime",
        description: "Time since each process started: a drop to zero is a restart (a crash, an OOM kill, a rollout).",
        queries: [{ expr: `time() - ${by} (${parley(q.sel("process_start_time_seconds"))})`, legend: PROCESS_LEGEND }],
        unit: "s",
        min: 0,
      }),
      { core: true },
    )
    .panel(
      table({
        title: "Restarts in range",
        description: "Process starts seen within the dashboard's time range per pod (changes of process_start_time_seconds: a container restarted in its pod; a replaced pod is a new row).",
        queries: [{ expr: `${by} (${parley(`changes(${q.sel("process_start_time_seconds")}[$__range])`)})` }],
      }),
    );

  return d.build();
}
