import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";
import type { ServerHandle } from "./server-handle.js";

const run = promisify(execFile);

export interface DockerServerOptions {
  image: string;
  containerPort: number;
  command?: string[];
  env?: Record<string, string>;
  /** Builds the URL from the host port. */
  url: (port: number) => string;
  /** A log line that means "ready", seen once per start. */
  readyLog: string | RegExp;
  readyLogTimes?: number;
}

/**
 * A server in a container (testcontainers), bound to a fixed host port so stop()/start()
 * (plain `docker stop`/`docker start`) brings it back at the same URL.
 */
export async function startDockerServer(options: DockerServerOptions): Promise<ServerHandle> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const port = await freePort();
  let container = new GenericContainer(options.image)
    .withExposedPorts({ container: options.containerPort, host: port })
    .withWaitStrategy(Wait.forLogMessage(options.readyLog, options.readyLogTimes ?? 1));
  if (options.command) container = container.withCommand(options.command);
  if (options.env) container = container.withEnvironment(options.env);
  const started = await container.start();
  const id = started.getId();
  let running = true;
  let closing: Promise<void> | undefined;
  const handle: ServerHandle = {
    url: options.url(port),
    host: "127.0.0.1",
    port,
    kind: "docker",
    async stop() {
      if (!running) return;
      await run("docker", ["stop", "-t", "5", id]);
      running = false;
    },
    async start() {
      if (running) return;
      await run("docker", ["start", id]);
      running = true;
      // The server needs a moment after the container starts; poll the port until it answers.
      const { connect } = await import("node:net");
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const ok = await new Promise<boolean>((resolve) => {
          const socket = connect({ port, host: "127.0.0.1" }, () => {
            socket.destroy();
            resolve(true);
          });
          socket.once("error", () => resolve(false));
        });
        if (ok) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`${options.image} did not come back on port ${port}`);
    },
    close() {
      closing ??= started.stop({ remove: true }).then(() => undefined);
      return closing;
    },
  };
  return handle;
}
