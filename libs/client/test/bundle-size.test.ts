import { gzipSync } from "node:zlib";
import { build } from "rolldown";
import { expect, it } from "vitest";

/**
 * What a web app ships for the SDK: the built package (dist, as npm installs it) bundled for
 * browsers with socket.io-client, @parley/protocol's schemas and zod, tree-shaken to what a
 * chat app imports and minified by rolldown (the bundler of Vite 8, which the example web
 * chat uses), then gzipped. Measured at the budget's introduction (2026-12-07, with the
 * react-native kit, loadNewer/loadAround and the window cap): 182,286 B minified, 50,893 B
 * gzip; the budget leaves about 12 % headroom. With the safety calls, one connection per
 * browser (tabs/) and the long-polling fallback merged: 200,212 B minified, 55,142 B gzip.
 * A change that grows the SDK noticeably fails here and becomes a decision, not an accident.
 */
const BUDGET_GZIP_BYTES = 57_000;

async function sizeOf(source: string): Promise<{ minified: number; gzip: number }> {
  const entry = "\0web-app-entry";
  const result = await build({
    input: entry,
    cwd: new URL(".", import.meta.url).pathname,
    platform: "browser",
    write: false,
    logLevel: "silent",
    output: { format: "esm", minify: true },
    plugins: [{ name: "entry", resolveId: (id) => (id === entry ? id : null), load: (id) => (id === entry ? source : null) }],
  });
  const code = result.output[0].code;
  return { minified: Buffer.byteLength(code), gzip: gzipSync(code, { level: 9 }).byteLength };
}

it("the SDK a web app gets (with socket.io-client and the schemas) stays within its gzip budget", async () => {
  const size = await sizeOf(`export { createClient, indexedDbStorage, ParleyRequestError } from "@parley/client";`);
  process.stdout.write(`@parley/client for the web: ${size.minified} B minified, ${size.gzip} B gzip (budget ${BUDGET_GZIP_BYTES} B)\n`);
  expect(size.gzip).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
});
