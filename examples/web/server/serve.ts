#!/usr/bin/env node
// The web chat's development server: the built app (vite build's dist/public), the
// `/config.json` and `/dev/token` routes, and `/healthz`. `npm start` runs it beside the
// cluster; the browser tests run it too. It refuses NODE_ENV=production (web-config.ts).
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { devRoutes, type Middleware } from "./dev-routes.js";
import { mountNoJs } from "./no-js/mount.js";
import { staticFiles } from "./static-files.js";
import { WebConfigError, loadWebConfig } from "./web-config.js";

function chain(middlewares: Middleware[]): Middleware {
  return (req, res, last) => {
    const run = (index: number): void => {
      const middleware = middlewares[index];
      if (!middleware) return last();
      middleware(req, res, () => run(index + 1));
    };
    run(0);
  };
}

function main(): void {
  let config;
  try {
    config = loadWebConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof WebConfigError)) throw error;
    process.stderr.write(`web chat: refusing to start:\n${error.message}\n`);
    process.exit(1);
  }
  const root = config.root ?? fileURLToPath(new URL("../public", import.meta.url));
  if (!existsSync(root)) {
    process.stderr.write(`web chat: ${root} does not exist: build the app first (npm run build -w @parley/web)\n`);
    process.exit(1);
  }
  const handle = chain([
    (req, res, next) => {
      if (req.url !== "/healthz") return next();
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    },
    devRoutes({ token: config.token, gateways: config.gateways, onError: (error) => process.stderr.write(`web chat: ${String(error)}\n`) }),
    mountNoJs(config),
    staticFiles(root),
  ]);
  const server = createServer((req, res) => handle(req, res, () => res.writeHead(404).end()));
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
    process.stdout.write(`web chat: http://${host}:${port}/ (gateways ${config.gateways.join(", ")}; development sign-in at /dev/token)\n`);
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      server.close(() => process.exit(0));
      // Keep-alive connections of an open tab would hold close() open.
      server.closeAllConnections();
    });
  }
}

main();
