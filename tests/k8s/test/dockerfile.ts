import { DockerfileParser, type Instruction, type JSONInstruction } from "dockerfile-ast";

export interface Step {
  keyword: string;
  args: string[];
  flags: Record<string, string>;
  /** The JSON (exec) form's strings, when the instruction is written that way. */
  json?: string[];
}

export interface Stage {
  name: string | null;
  image: string;
  steps: Step[];
}

export interface Dockerfile {
  /** The ARGs before the first FROM (usable in FROM lines), with their defaults. */
  globalArgs: Record<string, string | undefined>;
  stages: Stage[];
}

const isJson = (i: Instruction): i is JSONInstruction => "getOpeningBracket" in i && (i as JSONInstruction).getOpeningBracket() !== null;

/** A Dockerfile as its global ARGs and its stages, each with its instructions (parsed by dockerfile-ast). */
export function readDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string | undefined> = {};
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    const keyword = instruction.getKeyword();
    const args = instruction.getArguments().map((a) => a.getValue());
    if (keyword === "FROM") {
      const as = args.findIndex((a) => a.toUpperCase() === "AS");
      stages.push({ name: as >= 0 ? args[as + 1]! : null, image: args[0]!, steps: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (keyword !== "ARG") throw new Error(`${keyword} before the first FROM`);
      const [name, value] = args[0]!.split(/=(.*)/s);
      globalArgs[name!] = value;
      continue;
    }
    const flags = "getFlags" in instruction ? Object.fromEntries((instruction as JSONInstruction).getFlags().map((f) => [f.getName(), f.getValue() ?? ""])) : {};
    const step: Step = { keyword, args, flags };
    if (isJson(instruction)) step.json = instruction.getJSONStrings().map((s) => s.getJSONValue());
    stage.steps.push(step);
  }
  return { globalArgs, stages };
}

/** The part of an OCI image config the manifests depend on (what `buildah inspect` shows under OCIv1.config). */
export interface ImageConfig {
  User?: string;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[];
  ExposedPorts?: Record<string, unknown>;
}

/**
 * The config the Dockerfile gives the image of `service` (build argument SERVICE), from the
 * instructions of the stages it is built from, in order: what a build produces on top of the base
 * image's own config (the base's ENTRYPOINT and ENV are not known here).
 */
export function configFromDockerfile(file: Dockerfile, service: string): ImageConfig {
  const substitute = (s: string) => s.replaceAll("${SERVICE}", service).replaceAll("$SERVICE", service);
  const chain: Stage[] = [];
  let stage: Stage | undefined = file.stages.at(-1);
  while (stage) {
    chain.unshift(stage);
    const from = substitute(stage.image);
    stage = file.stages.find((s) => s.name === from);
  }
  const config: ImageConfig = { Env: [], ExposedPorts: {} };
  for (const s of chain) {
    for (const step of s.steps) {
      const args = step.args.map(substitute);
      if (step.keyword === "USER") config.User = args[0];
      else if (step.keyword === "WORKDIR") config.WorkingDir = args[0]!.startsWith("/") ? args[0] : `${config.WorkingDir ?? "/"}/${args[0]}`;
      else if (step.keyword === "CMD") config.Cmd = step.json ?? ["/bin/sh", "-c", args.join(" ")];
      else if (step.keyword === "ENTRYPOINT") config.Entrypoint = step.json ?? ["/bin/sh", "-c", args.join(" ")];
      else if (step.keyword === "ENV") config.Env!.push(...args.filter((a) => a.includes("=")));
      else if (step.keyword === "EXPOSE") for (const port of args) config.ExposedPorts![port.includes("/") ? port : `${port}/tcp`] = {};
    }
  }
  return config;
}
