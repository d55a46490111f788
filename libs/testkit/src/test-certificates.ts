import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A throwaway certificate authority and one server certificate it signed, as PEM files. */
export interface TestCertificates {
  dir: string;
  /** The CA's certificate: what a client trusts (NODE_EXTRA_CA_CERTS, socket.io-client's `ca`). */
  caFile: string;
  ca: Buffer;
  /** The server's certificate and key, valid for `localhost` and 127.0.0.1. */
  certFile: string;
  keyFile: string;
  /** Removes the files. Safe to call twice. */
  remove(): Promise<void>;
}

/**
 * Makes a CA and a server certificate for `localhost` and 127.0.0.1 with the openssl CLI
 * (P-256 keys, valid two days), so TLS tests run against real servers with real verification:
 * a client that trusts the CA passes, one that does not is refused. Node's crypto module can
 * read certificates but not issue them.
 */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), "parley-tls-"));
  const path = (name: string) => join(dir, name);
  const openssl = (args: string[]) =>
    run("openssl", args, { cwd: dir }).catch((err: NodeJS.ErrnoException & { stderr?: string }) => {
      if (err.code === "ENOENT") throw new Error("the TLS tests need the openssl CLI: apt-get install -y openssl");
      throw new Error(`openssl ${args[0]} failed: ${err.stderr ?? err.message}`);
    });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    await openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Parley test CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    await openssl(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    await writeFile(
      path("server.ext"),
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    );
    await openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt",
      "-days", "2", "-extfile", "server.ext"]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    caFile: path("ca.crt"),
    ca: await readFile(path("ca.crt")),
    certFile: path("server.crt"),
    keyFile: path("server.key"),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
