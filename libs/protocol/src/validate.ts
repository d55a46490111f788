import type { z } from "zod";
import { ParleyError } from "./errors.js";

/** Parses untrusted input; failures become a `VALIDATION` error naming the first bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  throw new ParleyError("VALIDATION", `${where}${issue?.message ?? "invalid input"}`);
}
