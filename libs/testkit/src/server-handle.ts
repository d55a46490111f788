/** What startRedis and startPostgres return. */
export interface ServerHandle {
  /** Connection URL (for Postgres: the `postgres` admin database). */
  url: string;
  host: string;
  port: number;
  /** Where the server came from. */
  kind: "local" | "docker" | "external";
  /** Stops the server (an outage); data and port are kept. Safe when already stopped. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. Safe when running. */
  start(): Promise<void>;
  /** Stops it and removes what it created. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * The handle of a server run here as a child process: stop/start are the process's own,
 * close() stops it once and then removes what it created (`cleanup`).
 */
export function localServerHandle(
  url: string,
  port: number,
  server: { start(): Promise<void>; stop(): Promise<void> },
  cleanup: () => Promise<void>,
): ServerHandle {
  let closing: Promise<void> | undefined;
  return {
    url,
    host: "127.0.0.1",
    port,
    kind: "local",
    stop: () => server.stop(),
    start: () => server.start(),
    close: () =>
      (closing ??= (async () => {
        await server.stop();
        await cleanup();
      })()),
  };
}
