// The machine's own programs that some workspaces' tests drive for real (a Prometheus, a
// browser), and how to get each on Debian. A workspace names what it needs in its package.json
// (`"parley": { "testTools": ["prometheus"] }`); `npm test` installs what the chosen workspaces
// need before running them, so a fresh clone needs nothing but the README's one command.
// Redis and PostgreSQL are the test kit's own business (ensureServerBinaries), as for `npm start`.
import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** Each tool: the commands it must put on the PATH and the Debian packages that bring them. */
export const SYSTEM_TOOLS = {
  // Debian's prometheus brings promtool too: rules, dashboards' queries and a real scrape.
  prometheus: { commands: ["prometheus", "promtool"], packages: ["prometheus"] },
  // playwright-core drives Debian's Chromium (it never downloads a browser); the font is for screenshots.
  chromium: { commands: ["chromium"], packages: ["chromium", "fonts-dejavu-core"] },
  // Debian's Firefox ESR, driven over WebDriver BiDi by puppeteer-core (no browser download).
  firefox: { commands: ["firefox-esr"], packages: ["firefox-esr"] },
  // A real nginx in front of the gateways: tests/browser (WebSockets refused, long-polling with
  // affinity) and the fault suite's load balancer (least connections, WebSocket upgrade).
  nginx: { commands: ["nginx"], packages: ["nginx"] },
  // The fault suite's clock skew (scenario 12): libfaketime preloaded into one pod shifts its clock.
  faketime: { commands: ["faketime"], packages: ["faketime"] },
  // `npm run images`: buildah builds and runs the images without a container engine,
  // debootstrap makes the local base image's Debian.
  buildah: { commands: ["buildah"], packages: ["buildah"] },
  debootstrap: { commands: ["debootstrap"], packages: ["debootstrap"] },
};

function onPath(command) {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false; // not in this directory: try the next
    }
  });
}

/** The tools of `names` whose commands are not all on the PATH. */
export function missingTools(names) {
  return names.filter((name) => {
    const tool = SYSTEM_TOOLS[name];
    if (!tool) throw new Error(`unknown test tool "${name}" (known: ${Object.keys(SYSTEM_TOOLS).join(", ")})`);
    return !tool.commands.every(onPath);
  });
}

/** One line that says how to get the tools by hand. */
export function installHint(names) {
  const packages = names.flatMap((name) => SYSTEM_TOOLS[name].packages);
  return `apt-get install --no-install-recommends ${packages.join(" ")} (as root, on Debian)`;
}

/**
 * Installs the missing ones with apt-get when this process is root on a machine that has it.
 * Resolves with the names still missing (empty when all is there), never throws for a failed
 * install: the caller says what is missing and how to get it.
 */
export function ensureTools(names, { log }) {
  const missing = missingTools([...new Set(names)]);
  if (missing.length === 0) return [];
  const canApt = process.getuid?.() === 0 && onPath("apt-get");
  if (!canApt) return missing;
  const packages = missing.flatMap((name) => SYSTEM_TOOLS[name].packages);
  log(`installing ${packages.join(" ")} with apt-get (first run only, a minute or two)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  // Another apt-get (an unattended upgrade, a second test run) may hold dpkg's lock: wait for it
  // rather than fail the run.
  const wait = ["-o", "DPkg::Lock::Timeout=600"];
  try {
    execFileSync("apt-get", [...wait, "update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
    execFileSync("apt-get", [...wait, "install", "-y", "-qq", "--no-install-recommends", ...packages], { stdio: ["ignore", "ignore", "inherit"], env });
  } catch (error) {
    log(`apt-get install ${packages.join(" ")} failed: ${error.message.split("\n")[0]}`);
  }
  return missingTools(missing);
}
