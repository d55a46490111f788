import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@parley/testkit";

export interface NginxFront {
  url: string;
  /** Requests so far, one "status method transport" line each (transport: websocket, polling or empty). */
  requests(): string[];
  /** What nginx said (its error log), for a failing test's message. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * A real nginx in front of the gateways that refuses every WebSocket upgrade (403), as the
 * proxies of some networks do, and routes plain HTTP with session affinity (`ip_hash`: each
 * client address stays on one gateway), which Socket.IO long-polling needs: every request
 * of a polling session must reach the pod that holds it.
 */
export async function startNginxFront(gateways: readonly string[]): Promise<NginxFront> {
  const dir = mkdtempSync(join(tmpdir(), "parley-nginx-"));
  const port = await freePort();
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, sub));
  const servers = gateways.map((g) => `    server ${new URL(g).host};`).join("\n");
  writeFileSync(
    join(dir, "nginx.conf"),
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  # What the test checks: upgrades refused (403), polling answered.
  log_format transport '$status $request_method $arg_transport';
  access_log ${dir}/access.log transport;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream gateways {
    ip_hash;
${servers}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      # No WebSockets through this proxy: the client must fall back to long-polling.
      if ($http_upgrade) { return 403; }
      proxy_pass http://gateways;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      # Long-polling answers arrive late: stream them rather than buffer.
      proxy_buffering off;
      proxy_read_timeout 90s;
    }
  }
}
`,
  );
  const child: ChildProcess = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const log = () => {
    let text = stderr;
    try {
      text += readFileSync(join(dir, "error.log"), "utf8");
    } catch {
      // not written yet
    }
    return text;
  };
  const requests = () => {
    try {
      return readFileSync(join(dir, "access.log"), "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const status = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.status, () => 0);
    if (status === 200) return { url, log, stop, requests };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const output = log();
  await stop();
  throw new Error(`nginx did not start in front of the gateways:\n${output}`);
}
