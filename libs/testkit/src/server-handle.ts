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
