import { pino, type Logger } from "pino";

export type { Logger };

/**
 * JSON logs for every service. Tokens travel in `auth` and `authorization`: they are redacted
 * wherever they appear in a logged object.
 */
export function createLogger(opts: { service: string; level: string; pod?: string }): Logger {
  return pino({
    level: opts.level,
    base: { service: opts.service, ...(opts.pod ? { pod: opts.pod } : {}) },
    redact: {
      paths: ["token", "*.token", "auth.token", "headers.authorization", "req.headers.authorization", "*.authorization"],
      censor: "[redacted]",
    },
  });
}
