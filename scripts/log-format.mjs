// Turns the services' pino JSON lines into one readable line each, prefixed by the
// process name in its own colour. Lines that are not pino JSON pass through unchanged.
import { colour, dim } from "./lib.mjs";

const LEVELS = { 10: ["TRACE", "90"], 20: ["DEBUG", "36"], 30: ["INFO ", "32"], 40: ["WARN ", "33"], 50: ["ERROR", "31"], 60: ["FATAL", "41"] };
const HIDDEN = new Set(["level", "time", "pid", "hostname", "msg", "v", "err", "error"]);
const PREFIX_COLOURS = ["36", "35", "33", "34", "32", "96", "95"];

function value(v) {
  if (typeof v === "string") return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

function time(t) {
  const date = typeof t === "number" || typeof t === "string" ? new Date(t) : new Date();
  return Number.isNaN(date.getTime()) ? "" : date.toISOString().slice(11, 23);
}

/** Formats one output line of a service. */
export function formatLine(line) {
  if (!line.startsWith("{")) return line;
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return line; // not JSON after all: show it as it came
  }
  if (typeof entry !== "object" || entry === null || typeof entry.level !== "number") return line;
  const [label, code] = LEVELS[entry.level] ?? [String(entry.level).padEnd(5), "0"];
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, v]) => `${dim(`${key}=`)}${value(v)}`)
    .join(" ");
  let text = `${dim(time(entry.time))} ${colour(code, label)} ${entry.msg ?? ""}${fields ? ` ${fields}` : ""}`;
  const err = entry.err ?? entry.error;
  if (err && typeof err === "object") text += `\n${err.stack ?? `${err.type ?? "Error"}: ${err.message ?? JSON.stringify(err)}`}`;
  return text;
}

/** A prefixer for process number `index`: "[gateway-1] " in a stable colour, padded to `width`. */
export function prefixer(name, index, width) {
  const tag = colour(PREFIX_COLOURS[index % PREFIX_COLOURS.length], `[${name}]`.padEnd(width + 2));
  return (text) =>
    text
      .split("\n")
      .map((part) => `${tag} ${part}`)
      .join("\n");
}
