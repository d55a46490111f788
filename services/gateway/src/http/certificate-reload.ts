import { readFile } from "node:fs/promises";
import { unwatchFile, watchFile } from "node:fs";
import type { Server as HttpsServer } from "node:https";
import type { Logger } from "@parley/runtime";

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

/**
 * Serves a renewed certificate without a restart: the files are polled (`fs.watchFile`: a
 * Kubernetes Secret volume swaps a symlink, which inotify-based watching misses) and, once
 * either changed, both are read and given to the server for new connections. Open ones keep
 * the certificate they started with. A pair that does not load (a half-written renewal) is
 * logged and the previous one kept; the next change tries again. Returns the stop function.
 */
export function reloadCertificates(server: Pick<HttpsServer, "setSecureContext">, files: CertificateFiles, opts: { intervalMs: number; logger: Logger }): () => void {
  let reloading = Promise.resolve();
  const reload = () => {
    reloading = reloading.then(async () => {
      try {
        const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
        server.setSecureContext({ cert, key });
        opts.logger.info({ certFile: files.certFile }, "TLS certificate reloaded");
      } catch (err) {
        opts.logger.warn({ err: err instanceof Error ? err.message : String(err), certFile: files.certFile }, "TLS certificate not reloaded; the previous one stays");
      }
    });
  };
  const options = { interval: opts.intervalMs, persistent: false };
  watchFile(files.certFile, options, reload);
  watchFile(files.keyFile, options, reload);
  return () => {
    unwatchFile(files.certFile, reload);
    unwatchFile(files.keyFile, reload);
  };
}
