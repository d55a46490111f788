import type { IncomingMessage, ServerResponse } from "node:http";
import { DevTokenRequest, signDevToken, type DevTokenConfig } from "./dev-token.js";

export interface DevRoutesOptions {
  token: DevTokenConfig;
  gateways: string[];
  /** Told about a request that could not be answered (a bad body is answered 400 and not logged). */
  onError?: (error: unknown) => void;
}

/** Connect-style middleware (Vite's dev server, or the plain server in serve.ts). */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

const MAX_BODY_BYTES = 4 * 1024;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new RangeError("body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // answered as a validation error by the schema
  }
}

/**
 * The two routes a development web server adds to the static app:
 * - `GET /config.json` → `{ gateways }`: where the page connects by default;
 * - `POST /dev/token { userId, name?, role? }` → `{ token, exp }`: a development sign-in
 *   (`role: "admin"` adds `parley_role: "admin"`, for the moderation page).
 * Same origin as the page, so neither needs CORS.
 */
export function devRoutes(options: DevRoutesOptions): Middleware {
  return (req, res, next) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/config.json" && req.method === "GET") {
      json(res, 200, { gateways: options.gateways });
      return;
    }
    if (path !== "/dev/token") return next();
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      json(res, 405, { error: { code: "VALIDATION", message: "POST a JSON body { userId, name?, role? }" } });
      return;
    }
    readBody(req)
      .then(async (text) => {
        const request = DevTokenRequest.safeParse(parseJson(text));
        if (!request.success) {
          json(res, 400, { error: { code: "VALIDATION", message: "userId: 1..128 characters; name: 1..64 characters; role: absent or \"admin\"" } });
          return;
        }
        json(res, 200, await signDevToken(options.token, request.data));
      })
      .catch((error: unknown) => {
        if (error instanceof RangeError) return json(res, 413, { error: { code: "PAYLOAD_TOO_LARGE", message: "at most 4 KiB" } });
        options.onError?.(error);
        json(res, 500, { error: { code: "INTERNAL", message: "could not sign a token" } });
      });
  };
}
