import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import puppeteer, { type Browser } from "puppeteer-core";
import { findChromium } from "../chromium.js";

/**
 * The browsers the cross-browser tests run in, each the machine's own (Debian packages; no
 * browser is ever downloaded): Chromium over the DevTools protocol, Firefox ESR over WebDriver
 * BiDi, both driven by puppeteer-core. (playwright-core, which drives the older Chromium
 * tests, speaks BiDi only to Firefox builds newer than Debian's ESR.)
 */
export const BROWSERS = ["chromium", "firefox"] as const;
export type BrowserName = (typeof BROWSERS)[number];

const FIREFOX_PATHS = ["/usr/bin/firefox-esr", "/usr/lib/firefox-esr/firefox-esr", "/usr/bin/firefox"];

export function findFirefox(candidates: readonly string[] = [...FIREFOX_PATHS, ...(process.env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, "firefox-esr"))]): string {
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error(
      "Firefox is not installed, and the cross-browser tests need a real one: `apt-get install firefox-esr` " +
        `(Debian; \`npm test\` installs it as root when missing). Looked for ${FIREFOX_PATHS.join(", ")} and firefox-esr on the PATH.`,
    );
  }
  return found;
}

export interface LaunchOptions {
  /** Firefox only: its preferences (e.g. `javascript.enabled: false`). */
  firefoxPrefs?: Record<string, unknown>;
}

export function launchBrowser(name: BrowserName, options: LaunchOptions = {}): Promise<Browser> {
  if (name === "chromium") {
    // As root Chromium needs its sandbox off (playwright-core does the same by default).
    return puppeteer.launch({ browser: "chrome", executablePath: findChromium(), headless: true, args: ["--no-sandbox"] });
  }
  return puppeteer.launch({ browser: "firefox", executablePath: findFirefox(), headless: true, ...(options.firefoxPrefs ? { extraPrefsFirefox: options.firefoxPrefs } : {}) });
}
