import { parseArgs } from "node:util";
import { DEV_JWT_SECRET } from "@parley/runtime";
import { z } from "zod";
import type { DevTokenConfig } from "./dev-token.js";

const csv = z
  .string()
  .transform((value) => value.split(",").map((item) => item.trim()).filter(Boolean));

/** The variables the web server shares with the gateways (no variable of its own). */
const WebEnv = z
  .object({
    /** The dev token endpoint signs anyone in: a production start is refused outright. */
    NODE_ENV: z.string().default("development"),
    /** The gateways' HS256 key; without one, the gateways' development default. */
    JWT_SECRET: z.string().min(16).optional(),
    JWT_ISSUER: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === "production") {
      ctx.addIssue({
        code: "custom",
        path: ["NODE_ENV"],
        message: "the web chat's development server signs in any user id it is given: it never runs with NODE_ENV=production",
      });
    }
  });

const WebArgs = z.object({
  port: z.coerce.number().int().min(0).max(65_535).default(8080),
  host: z.string().min(1).default("127.0.0.1"),
  /** Where the page connects by default (the page picks one; `?gateway=` overrides). */
  gateways: csv.pipe(z.array(z.url()).min(1)).default(["http://localhost:3000", "http://localhost:3001"]),
  /** The built app (vite build's output). */
  root: z.string().min(1).optional(),
});

export interface WebConfig {
  port: number;
  host: string;
  gateways: string[];
  root: string | undefined;
  token: DevTokenConfig;
}

export class WebConfigError extends Error {}

/** Parsed once at start-up: the environment (shared JWT settings) and the command line. */
export function loadWebConfig(argv: string[], source: Record<string, string | undefined>): WebConfig {
  const env = WebEnv.safeParse(source);
  if (!env.success) throw new WebConfigError(z.prettifyError(env.error));
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: "string" }, host: { type: "string" }, gateways: { type: "string" }, root: { type: "string" } },
    strict: true,
  });
  const args = WebArgs.safeParse(values);
  if (!args.success) throw new WebConfigError(z.prettifyError(args.error));
  return {
    ...args.data,
    root: args.data.root,
    token: {
      secret: env.data.JWT_SECRET ?? DEV_JWT_SECRET,
      issuer: env.data.JWT_ISSUER,
      audience: env.data.JWT_AUDIENCE,
      ttlSeconds: 3600,
    },
  };
}
