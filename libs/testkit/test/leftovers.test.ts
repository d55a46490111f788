import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { processesInGroup, reapGroup } from "../src/process-group.js";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// A process that starts a Redis through the test kit (its build), says so, and waits to be ended.
const starter = `
  import { startRedis } from ${JSON.stringify(fileURLToPath(new URL("../dist/redis-server.js", import.meta.url)))};
  await startRedis({ infra: "local" });
  process.stdout.write("ready\\n");
  setInterval(() => {}, 1_000);
`;
const redisIn = (pgid: number) => processesInGroup(pgid).filter((p) => p.command === "redis-server");

describe("what a test run leaves behind", () => {
  it("a process ended by SIGTERM or SIGINT takes the servers it started with it", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      // Its own process group, so the Redis it starts can be found (and is not ours to end).
      const child = spawn(process.execPath, ["--input-type=module", "-e", starter], { detached: true, stdio: ["ignore", "pipe", "inherit"] });
      await once(child.stdout, "data");
      const [redis] = redisIn(child.pid!);
      expect(redis && alive(redis.pid)).toBe(true);
      child.kill(signal);
      await once(child, "exit");
      await expect.poll(() => alive(redis!.pid), { timeout: 5_000 }).toBe(false);
    }
  });

  it("reapGroup ends what a SIGKILLed group leader left in its process group", async () => {
    const leader = spawn("sh", ["-c", "sleep 60 & sleep 60 & wait"], { detached: true, stdio: "ignore" });
    const pgid = leader.pid!;
    await expect.poll(() => processesInGroup(pgid).length, { timeout: 5_000 }).toBe(3);
    leader.kill("SIGKILL");
    await once(leader, "exit");
    const left = reapGroup(pgid);
    expect(left.map((p) => p.command).sort()).toEqual(["sleep", "sleep"]);
    await expect.poll(() => processesInGroup(pgid).length, { timeout: 5_000 }).toBe(0);
    expect(reapGroup(pgid)).toEqual([]);
  });
});
