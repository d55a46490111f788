import closeWithGrace from "close-with-grace";
import type { Logger } from "pino";

/**
 * Runs `stop` once on SIGTERM/SIGINT (or an uncaught error), then exits: 0 after a clean
 * drain, 1 when stopping failed or took longer than `graceMs`.
 */
export function onShutdown(opts: { logger: Logger; graceMs: number; stop: (signal: string) => Promise<void> }): void {
  closeWithGrace({ delay: opts.graceMs, logger: false }, async ({ signal, err }) => {
    if (err) opts.logger.error({ err }, "stopping after an uncaught error");
    opts.logger.info({ signal }, "shutting down");
    await opts.stop(signal ?? "error");
    opts.logger.info("stopped");
  });
}
