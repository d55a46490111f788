import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";

/**
 * Where a test's picture goes: tests/browser/artifacts/<name>.png on every run (not
 * committed), and with PARLEY_UPDATE_SCREENSHOT=1 also docs/images/<name>.png, the one the docs show.
 */
export function screenshotPaths(name: string): string[] {
  return [
    fileURLToPath(new URL(`../../artifacts/${name}.png`, import.meta.url)),
    ...(process.env.PARLEY_UPDATE_SCREENSHOT === "1" ? [fileURLToPath(new URL(`../../../../docs/images/${name}.png`, import.meta.url))] : []),
  ];
}

/** Two screenshots side by side with captions, rendered by the browser itself, written to `paths`. */
export async function saveSideBySide(browser: Browser, paths: readonly string[], left: Buffer, leftCaption: string, right: Buffer, rightCaption: string): Promise<void> {
  const page = await browser.newPage({ viewport: { width: 1840, height: 700 } });
  const figure = (png: Buffer, caption: string) =>
    `<figure><img src="data:image/png;base64,${png.toString("base64")}"><figcaption>${caption}</figcaption></figure>`;
  await page.setContent(
    `<style>body{margin:0;display:flex;gap:16px;padding:12px;background:#c9d1de;font:15px "DejaVu Sans",sans-serif}
     figure{margin:0}img{display:block;border-radius:8px;box-shadow:0 2px 12px #0003}figcaption{padding:8px 4px 0;color:#1d2330}</style>
     ${figure(left, leftCaption)}${figure(right, rightCaption)}`,
  );
  const png = await page.screenshot({ fullPage: true });
  await page.close();
  for (const path of paths) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, png);
  }
}
