import { execFile } from "node:child_process";

let answer: Promise<boolean> | undefined;

/**
 * True when a Docker engine answers `docker info` within 5 s. The client alone is not
 * enough: on machines without an engine `docker --version` works but nothing runs.
 * The answer is cached for the life of the process.
 */
export function dockerAvailable(): Promise<boolean> {
  answer ??= new Promise((resolve) => {
    execFile("docker", ["info", "--format", "{{.ServerVersion}}"], { timeout: 5_000 }, (error) => resolve(!error));
  });
  return answer;
}

/** Where the servers come from: `auto` means a container when Docker answers, else local binaries. */
export type InfraMode = "auto" | "local" | "docker";

export async function useDocker(mode: InfraMode = "auto"): Promise<boolean> {
  if (mode === "local") return false;
  if (mode === "docker") return true;
  return dockerAvailable();
}
