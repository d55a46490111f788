import type { FastifyError, FastifyInstance } from "fastify";
import { ERROR_STATUS, ParleyError, type ErrorCode } from "@parley/protocol";
import type { Logger } from "@parley/runtime";

/** Fastify's own failures, in the contract's words. */
function fromFastify(err: FastifyError): ParleyError | undefined {
  if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") return new ParleyError("PAYLOAD_TOO_LARGE", "the body is over the size limit (64 KiB by default)");
  if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return new ParleyError("VALIDATION", "send JSON (content-type: application/json)");
  if (err.code?.startsWith("FST_ERR_CTP_") || err.statusCode === 400) return new ParleyError("VALIDATION", err.message);
  return undefined;
}

/**
 * Every error answers `{ error: { code, message } }` with the status of its code; 429, and a 503
 * refused before queuing, also carry Retry-After (whole seconds, rounded up).
 */
export function installErrorHandler(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const known = err instanceof ParleyError ? err : fromFastify(err);
    if (!known) {
      logger.error({ err, method: req.method, url: req.url, reqId: req.id }, "request failed");
    }
    const code: ErrorCode = known?.code ?? "INTERNAL";
    const message = known?.message ?? "internal error";
    // RATE_LIMITED, and UNAVAILABLE when the send was refused before it was queued (admission control).
    if ((code === "RATE_LIMITED" || code === "UNAVAILABLE") && known?.retryAfterMs !== undefined) {
      void reply.header("retry-after", String(Math.max(1, Math.ceil(known.retryAfterMs / 1000))));
    }
    return reply.code(ERROR_STATUS[code]).send({ error: { code, message } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: "NOT_FOUND", message: `no route ${req.method} ${req.url.split("?")[0]}` } }),
  );
}
