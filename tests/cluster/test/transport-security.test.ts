import { randomUUID } from "node:crypto";
import { request } from "node:https";
import { Redis } from "ioredis";
import { createDatabase as openDatabase } from "@parley/db";
import { io as connectClient } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDatabase,
  freePort,
  makeTestCertificates,
  signToken,
  spawnService,
  startPostgres,
  startRedis,
  type ServerHandle,
  type SpawnedService,
  type TestCertificates,
  type TestDatabase,
} from "@parley/testkit";

const SECRET = "transport-security-test-secret-0123456789";

/** An HTTPS request to the gateway; `ca` undefined: Node's own CAs only (which do not know the test CA). */
function httpsJson(url: string, opts: { ca?: Buffer; method?: string; token?: string; body?: unknown } = {}) {
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(
      url,
      {
        method: opts.method ?? "GET",
        ca: opts.ca,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(payload ? { "content-type": "application/json" } : {}),
        },
        timeout: 5_000,
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let certs: TestCertificates;
let redis: ServerHandle;
let redisTlsPort: number;
let pg: ServerHandle;
let db: TestDatabase;
const processes: SpawnedService[] = [];

beforeAll(async () => {
  certs = await makeTestCertificates();
  redisTlsPort = await freePort();
  // The plain port stays for the test kit's readiness check and the test's own look at CLIENT LIST;
  // the services are given the TLS port only.
  redis = await startRedis({
    infra: "local",
    args: ["--tls-port", String(redisTlsPort), "--tls-cert-file", certs.certFile, "--tls-key-file", certs.keyFile,
      "--tls-ca-cert-file", certs.caFile, "--tls-auth-clients", "no"],
  });
  pg = await startPostgres({ infra: "local", tls: { certFile: certs.certFile, keyFile: certs.keyFile } });
  db = await createDatabase(pg.url);
}, 120_000);

afterAll(async () => {
  for (const p of processes) p.child.kill("SIGKILL");
  await Promise.all(processes.map((p) => p.exited));
  await db?.drop();
  await pg?.close();
  await redis?.close();
  await certs?.remove();
});

describe("transport security against real servers with a CA made in the test", () => {
  it("the gateway serves HTTPS and WSS; gateway and persister reach Redis over TLS (rediss:// and REDIS_TLS=true) and Postgres with sslmode; a send is stored and acked", async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    // NODE_EXTRA_CA_CERTS: how a deployment trusts a private CA, for Redis and Postgres alike.
    const trust = { NODE_EXTRA_CA_CERTS: certs.caFile };
    const gateway = spawnService("gateway", {
      ...trust,
      PORT: String(port),
      HOST: "127.0.0.1",
      POD_NAME: "gw-tls",
      JWT_SECRET: SECRET,
      TLS_CERT_FILE: certs.certFile,
      TLS_KEY_FILE: certs.keyFile,
      REDIS_URL: `rediss://127.0.0.1:${redisTlsPort}`,
      // verify-full: the certificate must chain to a trusted CA and name the host.
      DATABASE_URL: `${db.url}?sslmode=verify-full`,
    });
    const persister = spawnService("persister", {
      ...trust,
      METRICS_PORT: String(metricsPort),
      POD_NAME: "persister-tls",
      REDIS_URL: `redis://127.0.0.1:${redisTlsPort}`,
      REDIS_TLS: "true",
      DATABASE_URL: `${db.url}?sslmode=require`,
    });
    processes.push(gateway, persister);
    const base = `https://127.0.0.1:${port}`;
    await waitFor(async () => (await httpsJson(`${base}/readyz`, { ca: certs.ca })).status === 200, `the gateway over HTTPS\n${gateway.output()}`);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200, `the persister\n${persister.output()}`);

    // A client that does not trust the CA is refused; so is plain HTTP on the TLS port.
    await expect(httpsJson(`${base}/readyz`)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    await expect(fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();

    const token = await signToken({ sub: "tess", secret: SECRET });
    const created = await httpsJson(`${base}/v1/conversations`, { ca: certs.ca, method: "POST", token, body: { kind: "group", memberIds: [], title: "tls" } });
    expect(created.status).toBe(201);
    const conversationId = (created.body as { conversation: { id: string } }).conversation.id;

    const socket = connectClient(base, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true, ca: certs.ca.toString("utf8") });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("session:ready", () => resolve());
        socket.once("connect_error", reject);
      });
      const ack = (await socket.timeout(10_000).emitWithAck("message:send", { conversationId, clientMessageId: randomUUID(), body: "over TLS" })) as {
        ok: boolean;
        message?: { seq: number };
      };
      expect(ack).toMatchObject({ ok: true, message: { seq: 1 } });
    } finally {
      socket.close();
    }

    // Postgres says both services' connections are encrypted.
    const admin = openDatabase({ url: pg.url, max: 1, applicationName: "tls-test" });
    try {
      const rows = await admin.sql<{ name: string; ssl: boolean }[]>`
        select distinct a.application_name as name, s.ssl
        from pg_stat_activity a join pg_stat_ssl s using (pid)
        where a.application_name like 'gw-tls%' or a.application_name like 'persister-tls%'`;
      const byService = new Set(rows.map((r) => `${r.name.startsWith("gw-tls") ? "gateway" : "persister"}:${r.ssl}`));
      expect([...byService].sort()).toEqual(["gateway:true", "persister:true"]);
    } finally {
      await admin.close();
    }
    // Redis: every Parley connection arrived on the TLS port (its local address), none on the plain one.
    const plain = new Redis(redis.url);
    try {
      const clients = ((await plain.client("LIST")) as string).split("\n").filter((l) => / name=parley:/.test(l));
      expect(clients.length).toBeGreaterThan(3);
      for (const line of clients) expect(line).toContain(`laddr=127.0.0.1:${redisTlsPort} `);
    } finally {
      plain.disconnect();
    }
  }, 90_000);
});
