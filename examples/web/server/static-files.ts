import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import type { Middleware } from "./dev-routes.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

function decodePath(url: string): string | undefined {
  try {
    return decodeURIComponent(url.split("?")[0] ?? "/");
  } catch {
    return undefined; // e.g. "%E0%A4%A": answered 400
  }
}

/**
 * Serves the built app from `root`: files as they are (hashed assets cached for a year),
 * anything else that a browser navigates to gets index.html, so deep links load the app.
 */
export function staticFiles(root: string): Middleware {
  const base = normalize(root);
  return (req, res, next) => {
    if (req.method !== "GET" && req.method !== "HEAD") return next();
    const path = decodePath(req.url ?? "/");
    const file = path === undefined ? undefined : normalize(join(base, path));
    // `..` in the URL must not leave the root; a malformed escape is refused too.
    if (path === undefined || file === undefined || (file !== base && !file.startsWith(base + sep))) {
      res.writeHead(400).end();
      return;
    }
    const send = (target: string, immutable: boolean) => {
      res.writeHead(200, {
        "content-type": TYPES[extname(target)] ?? "application/octet-stream",
        "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
      });
      if (req.method === "HEAD") return res.end();
      createReadStream(target).pipe(res);
    };
    stat(file)
      .then((info) => {
        if (info.isFile()) return send(file, path.startsWith("/assets/"));
        throw new Error("not a file");
      })
      .catch(() => {
        if (extname(path) !== "") {
          res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found");
          return;
        }
        send(join(base, "index.html"), false);
      });
  };
}
