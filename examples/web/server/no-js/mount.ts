import type { Middleware } from "../dev-routes.js";
import type { WebConfig } from "../web-config.js";
import { basicRoutes } from "./basic-routes.js";
import { GatewayApi } from "./gateway-api.js";

/** Where the no-JavaScript chat lives on the web server. */
export const NO_JS_BASE = "/basic";

/** The no-JavaScript pages as the development server mounts them (serve.ts). */
export function mountNoJs(config: Pick<WebConfig, "gateways" | "token">, onError: (error: unknown) => void = (error) => process.stderr.write(`web chat (basic): ${String(error)}\n`)): Middleware {
  return basicRoutes({ base: NO_JS_BASE, token: config.token, api: new GatewayApi(config.gateways), pageSize: 50, onError });
}
