import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * The workers' `/healthz`, `/readyz` and `/metrics` on METRICS_PORT. Liveness is "the event
 * loop answers"; readiness is whatever the service says (false while draining or while Redis
 * or Postgres are out of reach).
 */
export async function startOpsServer(opts: {
  port: number;
  host?: string;
  registry: Registry;
  ready: () => Promise<boolean> | boolean;
}): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const answer = (status: number, body: string, type = "application/json") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (path === "/healthz") return answer(200, JSON.stringify({ status: "ok" }));
    if (path === "/readyz") {
      Promise.resolve(opts.ready()).then(
        (ok) => answer(ok ? 200 : 503, JSON.stringify({ status: ok ? "ready" : "not ready" })),
        () => answer(503, JSON.stringify({ status: "not ready" })),
      );
      return;
    }
    if (path === "/metrics") {
      opts.registry.metrics().then(
        (text) => answer(200, text, opts.registry.contentType),
        (err: unknown) => answer(500, String(err), "text/plain"),
      );
      return;
    }
    answer(404, JSON.stringify({ error: { code: "NOT_FOUND", message: "no such route" } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })),
  };
}
