import { createServer } from "node:net";

/**
 * Asks the kernel for a free loopback port by binding port 0 and closing again.
 * Another process could take it in between; for tests on one machine that race is rare
 * enough, and a server that then fails to bind reports it clearly.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("could not read a free port"))));
    });
  });
}

/** True when nothing listens on host:port and we may bind it. */
export async function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The first free port at or after `preferred`, trying `attempts` ports in order. */
export async function portFrom(preferred: number, attempts = 50, host = "127.0.0.1"): Promise<number> {
  for (let port = preferred; port < preferred + attempts; port += 1) {
    if (await isPortFree(port, host)) return port;
  }
  throw new Error(`no free port in ${preferred}..${preferred + attempts - 1} on ${host}`);
}
