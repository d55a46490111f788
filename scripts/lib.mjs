// Small helpers shared by the root scripts (no dependencies: these run before npm install).
import { spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
export const colour = (code, text) => (useColour ? `\x1b[${code}m${text}\x1b[0m` : text);
export const bold = (text) => colour("1", text);
export const dim = (text) => colour("2", text);
export const green = (text) => colour("32", text);
export const red = (text) => colour("31", text);
export const yellow = (text) => colour("33", text);
export const cyan = (text) => colour("36", text);

/** Prints a progress line on stderr, so stdout stays for what a script produces. */
export function step(text) {
  process.stderr.write(`${cyan("›")} ${text}\n`);
}

/** True when the module at `metaUrl` is the script node was started with. */
export function isMain(metaUrl) {
  return process.argv[1] !== undefined && metaUrl === pathToFileURL(resolve(process.argv[1])).href;
}

/**
 * Runs a command, inheriting the terminal unless `capture` is set; resolves with the exit
 * code and, when captured, the output. Never rejects for a non-zero exit.
 */
export function run(command, args, { cwd = ROOT, env = process.env, capture = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: capture ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"] });
    let output = "";
    if (capture) {
      child.stdout.on("data", (chunk) => (output += chunk));
      child.stderr.on("data", (chunk) => (output += chunk));
    }
    child.once("error", reject);
    child.once("exit", (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : 1), output }));
  });
}
