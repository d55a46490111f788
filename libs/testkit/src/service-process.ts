import { NodeScriptProcess, spawnNodeScript, type SpawnScriptOptions, type SpawnedScript } from "./node-script-process.js";

export type ServiceName = "gateway" | "persister" | "delivery";
export type SpawnedService = SpawnedScript;
export type SpawnServiceOptions = Omit<SpawnScriptOptions, "args">;

/** A service's built entry point, relative to the repository root: what `npm start -w services/<name>` and the images run. */
export const serviceEntry = (service: ServiceName) => `services/${service}/dist/server.js`;

/** One Parley service as its own process, configured only by `env` (see spawnNodeScript). */
export function spawnService(service: ServiceName, env: Record<string, string>, options: SpawnServiceOptions = {}): SpawnedService {
  return spawnNodeScript(serviceEntry(service), env, options);
}

/**
 * One Parley service from its built `dist/server.js`, as `npm start -w services/<name>` runs
 * it: a pod that can be stopped (the real drain) and started again on the same port, like
 * one Kubernetes restarts.
 */
export class ServiceProcess extends NodeScriptProcess {
  constructor(
    readonly service: ServiceName,
    /** The pod name (POD_NAME), and the `pod` label Prometheus gives the target. */
    readonly pod: string,
    /** The port of `/metrics`, `/healthz` and `/readyz` (the gateway's PORT, a worker's METRICS_PORT). */
    readonly port: number,
    env: Record<string, string>,
  ) {
    super({
      name: pod,
      script: serviceEntry(service),
      env: { POD_NAME: pod, [service === "gateway" ? "PORT" : "METRICS_PORT"]: String(port), ...env },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}
