import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../free-port.js";
import { ManagedProcess } from "../managed-process.js";

export interface LoadBalancer {
  /** http://127.0.0.1:PORT: what clients connect to. */
  url: string;
  close(): Promise<void>;
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/**
 * The load balancer a deployment puts in front of the gateways, as nginx does it: least
 * connections (a reconnecting herd lands on the pods with room), the WebSocket upgrade passed
 * through, the client's address in X-Forwarded-For, and a failed connect retried on the next
 * gateway (a dead pod is skipped at once, as a readiness probe would soon take it out).
 */
export function nginxConfig(dir: string, port: number, upstreams: readonly string[]): string {
  const servers = upstreams.map((u) => `    server ${new URL(u).host} max_fails=1 fail_timeout=2s;`).join("\n");
  return `# written by the test kit (faults/nginx.ts)
${process.getuid?.() === 0 ? "user root;\n" : ""}worker_processes 1;
worker_rlimit_nofile 65536;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 40000; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream gateways {
    least_conn;
${servers}
  }
  server {
    listen 127.0.0.1:${port} backlog=16384;
    location / {
      proxy_pass http://gateways;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_connect_timeout 2s;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
      proxy_next_upstream error timeout http_502 http_503;
    }
  }
}
`;
}

/** Starts Debian's nginx (package.json "parley.testTools": nginx) in front of `upstreams`. */
export async function startNginx(upstreams: readonly string[]): Promise<LoadBalancer> {
  const dir = await mkdtemp(join(tmpdir(), "parley-nginx-"));
  await mkdir(join(dir, "tmp"), { recursive: true });
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  await writeFile(conf, nginxConfig(dir, port, upstreams));
  const server = new ManagedProcess({
    name: "nginx",
    command: "nginx",
    args: ["-p", dir, "-c", conf, "-e", join(dir, "error.log"), "-g", "daemon off;"],
    isReady: () => tcpOpen(port),
    stopSignal: "SIGQUIT",
  });
  await server.start();
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
