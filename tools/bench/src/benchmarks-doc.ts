// docs/benchmarks.md is written by the benchmarks themselves, each between markers of its own
// (`<!-- bench:NAME:start -->` … `<!-- bench:NAME:end -->`), so a run replaces its section and
// leaves the hand-written text around it alone.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const NEW_FILE = "# Benchmarks\n\nEach section is written by the benchmark named in it; rerun it to refresh the numbers.\n\n";

/** Replaces the section `name` of docs/benchmarks.md with `body` (appends it when missing); returns the file's path. */
export function writeBenchmarksSection(root: string, name: string, body: string): string {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const markdown = join(root, "docs", "benchmarks.md");
  mkdirSync(join(root, "docs"), { recursive: true });
  const section = `${start}\n${body}\n${end}`;
  let text = existsSync(markdown) ? readFileSync(markdown, "utf8") : NEW_FILE;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from !== -1 && to > from) text = text.slice(0, from) + section + text.slice(to + end.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(markdown, text);
  return markdown;
}
