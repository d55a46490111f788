import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { chromium, type Browser } from "playwright-core";

const KNOWN_PATHS = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium"];

/**
 * The machine's Chromium (Debian's `chromium` package): playwright-core drives it and never
 * downloads a browser of its own. Missing: a clear error, not a skipped test.
 */
export function findChromium(candidates: readonly string[] = defaultCandidates()): string {
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error(
      "Chromium is not installed, and the browser tests need a real one: `apt-get install chromium` " +
        "(Debian; `npm test` installs it as root when missing). Looked for chromium / chromium-browser in " +
        `${KNOWN_PATHS.join(", ")} and on the PATH.`,
    );
  }
  return found;
}

function defaultCandidates(): string[] {
  const onPath = (process.env.PATH ?? "").split(delimiter).flatMap((dir) => [join(dir, "chromium"), join(dir, "chromium-browser")]);
  return [...KNOWN_PATHS, ...onPath];
}

/** Headless Chromium. playwright-core turns Chromium's sandbox off by default (needed as root). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(), headless: true });
}
