import { ParleyError, type ErrorBody } from "@parley/protocol";
import type { Logger } from "@parley/runtime";

/** Any failure → the contract's error body. Unexpected ones are logged with context and answered INTERNAL. */
export function toErrorBody(err: unknown, logger: Logger, context: Record<string, unknown>): ErrorBody {
  if (err instanceof ParleyError) return err.toBody();
  logger.error({ ...context, err }, "unexpected error");
  return { code: "INTERNAL", message: "internal error" };
}
