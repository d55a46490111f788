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

const isJson = (i: Instruction): i is JSONInstruction => "getOpeningBracket" in i && (i as JSONInstruction).getOpeningBracket() !== null;

/** A Dockerfile as its stages, each with its instructions (parsed by dockerfile-ast). */
export function readStages(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    const keyword = instruction.getKeyword();
    const args = instruction.getArguments().map((a) => a.getValue());
    if (keyword === "FROM") {
      const as = args.findIndex((a) => a.toUpperCase() === "AS");
      stages.push({ name: as >= 0 ? args[as + 1]! : null, image: args[0]!, steps: [] });
      continue;
    }
    const flags = "getFlags" in instruction ? Object.fromEntries((instruction as JSONInstruction).getFlags().map((f) => [f.getName(), f.getValue() ?? ""])) : {};
    const step: Step = { keyword, args, flags };
    if (isJson(instruction)) step.json = instruction.getJSONStrings().map((s) => s.getJSONValue());
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${keyword} before the first FROM`);
    stage.steps.push(step);
  }
  return stages;
}

/** The last value an instruction sets in a stage (WORKDIR, USER, …). */
export const last = (stage: Stage, keyword: string) => stage.steps.filter((s) => s.keyword === keyword).at(-1);
