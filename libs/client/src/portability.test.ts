import { execFileSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = fileURLToPath(new URL(".", import.meta.url));
const protocolSrc = fileURLToPath(new URL("../../protocol/src/", import.meta.url));

/** Node-only names a browser or React Native bundle could not resolve or would not have. */
const NODE_ONLY = [/from "node:/, /from "(fs|path|os|crypto|net|http|https|stream|buffer|events|url|util)(\/[^"]*)?"/, /\bBuffer\./, /\bprocess\./, /\brequire\(/, /\bNodeJS\./];

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")).map((e) => join(dir, e.name));
}

/**
 * The SDK's main entry and the protocol catalog it loads must run in browsers and React
 * Native. tsconfig.core.json type-checks the core without Node's types; this also catches
 * what types cannot (a `node:` import of something that also exists globally) and covers
 * @parley/protocol, which is built with Node's types.
 */
describe("portability", () => {
  it("the core (everything but src/node) and @parley/protocol use no Node-only module or global", async () => {
    const files = [...(await sources(here)), ...(await sources(protocolSrc))];
    expect(files.length).toBeGreaterThan(15);
    const offenders: string[] = [];
    for (const file of files) {
      const text = await readFile(file, "utf8");
      for (const pattern of NODE_ONLY) if (pattern.test(text)) offenders.push(`${file}: ${pattern}`);
    }
    expect(offenders).toEqual([]);
  });

  it("loads and validates without Intl.Segmenter or String.prototype.isWellFormed (React Native's Hermes lacks both)", () => {
    // A fresh Node process with both removed before anything is imported, as on Hermes.
    const script = `
      delete Intl.Segmenter;
      delete String.prototype.isWellFormed;
      const { MessageSchema } = await import("@parley/protocol");
      const { createClient, memoryStorage } = await import("@parley/client");
      const ok = MessageSchema.safeParse({ id: "0190a000-0000-7000-8000-000000000001", conversationId: "0190a000-0000-7000-8000-000000000002",
        seq: 1, senderId: "bob", senderName: "Bob", clientMessageId: "0190a000-0000-7000-8000-000000000003", kind: "text", body: "hi 👋",
        createdAt: "2026-01-01T00:00:00.000Z" }).success;
      const bad = MessageSchema.safeParse({ id: "0190a000-0000-7000-8000-000000000001", conversationId: "0190a000-0000-7000-8000-000000000002",
        seq: 1, senderId: "b\\uD800", senderName: "Bob", clientMessageId: "0190a000-0000-7000-8000-000000000003", kind: "text", body: "hi",
        createdAt: "2026-01-01T00:00:00.000Z" }).success;
      process.stdout.write(JSON.stringify({ ok, bad, createClient: typeof createClient, memoryStorage: typeof memoryStorage }));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: here, encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({ ok: true, bad: false, createClient: "function", memoryStorage: "function" });
  });
});
