// `node tools/bench/dist/profile-summary.js FILE.cpuprofile [TOP]`: where a V8 CPU profile
// (node --cpu-prof, e.g. from `--fanout-profile`) spent its time, by function (self time)
// and by package (self time of every function whose script lives in it).
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** "socket.io-adapter", "ws", "(node)", "gateway", …: who owns the script. */
function packageOf(url: string): string {
  const modules = url.lastIndexOf("node_modules/");
  if (modules !== -1) {
    const rest = url.slice(modules + "node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith("node:")) return "(node)";
  if (url === "") return "(native: syscalls such as writev, V8 builtins)";
  const service = /\/(services|libs|tools)\/([^/]+)\//.exec(url);
  return service ? `${service[1]}/${service[2]}` : url;
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: profile-summary FILE.cpuprofile [TOP]\n");
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

let total = 0;
let idle = 0;
const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const [id, us] of selfUs) {
  const frame = byId.get(id)!.callFrame;
  total += us;
  if (frame.functionName === "(idle)") {
    idle += us;
    continue;
  }
  const name = `${frame.functionName || "(anonymous)"} ${frame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/(services|libs|tools)\//, "$1/")}:${frame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  const pkg = frame.functionName.startsWith("(") ? frame.functionName : packageOf(frame.url);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
}
const busy = total - idle;
const line = (label: string, us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${label}`;
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy time)\n\nby package\n`);
for (const [pkg, us] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${line(pkg, us)}\n`);
process.stdout.write("\nby function (self time)\n");
for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${line(name, us)}\n`);
