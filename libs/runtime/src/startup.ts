import type { Logger } from "pino";

/**
 * Runs a service's start-up and turns a failure into one clear line and exit code 1, instead
 * of an unhandled-rejection stack: operators read this in `kubectl logs` of a crash loop.
 */
export async function startOrExit(service: string, logger: Logger | undefined, start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (logger) logger.fatal({ err: reason }, `${service} could not start`);
    else process.stderr.write(`${service} could not start: ${reason}\n`);
    process.exit(1);
  }
}

/** Parses configuration before a logger exists; a bad environment is reported on stderr. */
export function loadOrExit<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    process.stderr.write(`${service} could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
