import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import type { ScrapeTarget } from "./prometheus.js";
import { ROOT } from "./repo-files.js";
import type { ServiceProcess } from "@parley/testkit";

const MONITORS = join(ROOT, "infra/k8s/components/monitoring");

const Endpoint = z.looseObject({ port: z.string(), honorLabels: z.boolean().optional() });
const ServiceMonitor = z.looseObject({ metadata: z.looseObject({ name: z.string() }), spec: z.looseObject({ endpoints: z.array(Endpoint).min(1) }) });
const PodMonitor = z.looseObject({ metadata: z.looseObject({ name: z.string() }), spec: z.looseObject({ podMetricsEndpoints: z.array(Endpoint).min(1) }) });

const NAMESPACE = "parley";
// The gateway's Kubernetes Service (infra/k8s/base/gateway), which its ServiceMonitor selects.
const GATEWAY_SERVICE = "parley-gateway";

/**
 * The scrape targets of the local cluster labelled as the Prometheus Operator labels them
 * from the monitors in infra/k8s (components/monitoring): the gateway through its
 * ServiceMonitor (job = the Service's name; target labels namespace, service, pod, container,
 * endpoint), the workers through the PodMonitor (job = "<namespace>/<monitor>"; namespace,
 * pod, container, endpoint), with each monitor's `honorLabels`. So the proof sees the label
 * set a Kubernetes scrape produces, label clashes included.
 */
export function kubernetesTargets(services: ServiceProcess[]): ScrapeTarget[] {
  const serviceMonitor = ServiceMonitor.parse(parse(readFileSync(join(MONITORS, "service-monitor.yaml"), "utf8")));
  const podMonitor = PodMonitor.parse(parse(readFileSync(join(MONITORS, "pod-monitor.yaml"), "utf8")));
  const gatewayEndpoint = serviceMonitor.spec.endpoints[0]!;
  const workerEndpoint = podMonitor.spec.podMetricsEndpoints[0]!;
  return services.map((s): ScrapeTarget =>
    s.service === "gateway"
      ? {
          job: GATEWAY_SERVICE,
          address: `127.0.0.1:${s.port}`,
          honorLabels: gatewayEndpoint.honorLabels ?? false,
          labels: { namespace: NAMESPACE, service: GATEWAY_SERVICE, pod: s.pod, container: s.service, endpoint: gatewayEndpoint.port },
        }
      : {
          job: `${NAMESPACE}/${podMonitor.metadata.name}`,
          address: `127.0.0.1:${s.port}`,
          honorLabels: workerEndpoint.honorLabels ?? false,
          labels: { namespace: NAMESPACE, pod: s.pod, container: s.service, endpoint: workerEndpoint.port },
        },
  );
}
