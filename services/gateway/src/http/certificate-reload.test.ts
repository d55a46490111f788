import { copyFile, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { connect } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { makeTestCertificates, testLogger, type TestCertificates } from "@parley/testkit";
import { reloadCertificates } from "./certificate-reload.js";

/** The fingerprint of the certificate a new TLS connection to `port` is shown. */
function servedFingerprint(port: number, ca: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on("error", reject);
  });
}

describe("certificate reload", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it("serves the renewed certificate to new connections once the files change, and keeps the old one when the new pair does not load", async () => {
    const first: TestCertificates = await makeTestCertificates();
    const renewed: TestCertificates = await makeTestCertificates();
    cleanup.push(() => first.remove(), () => renewed.remove());
    const server: Server = createServer({ cert: await readFile(first.certFile), key: await readFile(first.keyFile) });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as AddressInfo).port;
    const stop = reloadCertificates(server, { certFile: first.certFile, keyFile: first.keyFile }, { intervalMs: 50, logger: testLogger() });
    cleanup.push(stop);
    const ca = [first.ca, renewed.ca];
    const before = await servedFingerprint(port, ca);

    // Half a renewal: the new certificate with the old key does not load; the old pair stays.
    await copyFile(renewed.certFile, first.certFile);
    await new Promise((r) => setTimeout(r, 300));
    expect(await servedFingerprint(port, ca)).toBe(before);

    // The key follows: the renewed pair is served.
    await copyFile(renewed.keyFile, first.keyFile);
    const deadline = Date.now() + 5_000;
    let now = before;
    while (now === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      now = await servedFingerprint(port, ca);
    }
    expect(now).not.toBe(before);
  });
});
