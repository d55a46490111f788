import type { FastifyInstance } from "fastify";
import type { RateLimiter } from "./rate-limiter.js";
import { routeLimits, type Counted } from "./limit-classes.js";

/**
 * Counts every authenticated `/v1/` request against its user's limit (limits/limit-classes.ts)
 * before the handler runs; over it, 429 with Retry-After (http/error-handler.ts). Runs as a
 * preHandler, after the bearer token was checked (routes.ts's onRequest) and the body read
 * (bounded at 64 KiB). A route the catalog does not name is a read when it is a GET, else a
 * conversation change.
 */
export function registerHttpLimits(app: FastifyInstance, limiter: Pick<RateLimiter, "consume">): void {
  const classes = routeLimits();
  app.addHook("preHandler", async (req) => {
    const user = req.user;
    if (!user) return;
    const known: Counted | undefined = classes.get(`${req.method} ${req.routeOptions.url ?? ""}`);
    const cls = known ?? (req.method === "GET" || req.method === "HEAD" ? "reads" : "conversations");
    if (cls === "service") return;
    await limiter.consume(cls, user.userId);
  });
}
