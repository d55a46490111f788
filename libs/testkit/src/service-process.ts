import { NodeScriptProcess } from "./node-script-process.js";

export type ServiceName = "gateway" | "persister" | "delivery";

/**
 * One Parley service from its built `dist/server.js`, as `npm start -w services/<name>` runs
 * it: a pod that can be stopped (the real drain) and started again on the same port, like
 * one Kubernetes restarts.
 */
export class ServiceProcess extends NodeScriptProcess {
  constructor(
    readonly service: ServiceName,
    /** The pod name (POD_NAME). */
    readonly pod: string,
    /** The port of `/metrics`, `/healthz` and `/readyz` (the gateway's PORT, a worker's METRICS_PORT). */
    readonly port: number,
    env: Record<string, string>,
  ) {
    super({
      name: pod,
      script: `services/${service}/dist/server.js`,
      env: { POD_NAME: pod, [service === "gateway" ? "PORT" : "METRICS_PORT"]: String(port), ...env },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}
