#!/usr/bin/env node
// `npm run token -- USER_ID [NAME] [--role admin|service]`: prints a development JWT (HS256,
// 24 h) signed with JWT_SECRET, or the dev default that `npm start` uses. `--role` sets the
// `parley_role` claim (docs/administration.md): "admin" for /v1/admin/*, "service" for bots.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { devJwtSecret, jwtSecret } from "./dev-config.mjs";
import { ROOT, isMain, red } from "./lib.mjs";

export const ROLES = ["admin", "service"];

export async function devToken(userId, name, { secret, expiresInSeconds = 24 * 3600, role } = {}) {
  secret ??= await jwtSecret();
  const { SignJWT } = await import("jose");
  const jwt = new SignJWT({ ...(name ? { name } : {}), ...(role ? { parley_role: role } : {}) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds);
  if (process.env.JWT_ISSUER) jwt.setIssuer(process.env.JWT_ISSUER);
  if (process.env.JWT_AUDIENCE) jwt.setAudience(process.env.JWT_AUDIENCE);
  return jwt.sign(new TextEncoder().encode(secret));
}

async function main() {
  const args = process.argv.slice(2);
  let role;
  const roleAt = args.findIndex((a) => a === "--role" || a.startsWith("--role="));
  if (roleAt >= 0) {
    const arg = args[roleAt];
    role = arg.includes("=") ? arg.slice("--role=".length) : args[roleAt + 1];
    args.splice(roleAt, arg.includes("=") ? 1 : 2);
  }
  const [userId, name] = args;
  const usage = "usage: npm run token -- USER_ID [NAME] [--role admin|service]   (USER_ID: 1..128 characters)\n";
  if (!userId || userId.length > 128 || userId.startsWith("-") || (roleAt >= 0 && !ROLES.includes(role))) {
    process.stderr.write(usage);
    process.exit(2);
  }
  // jose, and the development secret from the built @parley/runtime.
  if (!existsSync(join(ROOT, "node_modules", "jose")) || !existsSync(join(ROOT, "libs", "runtime", "dist", "index.js"))) {
    const { ensureBuilt } = await import("./ensure-built.mjs");
    await ensureBuilt();
  }
  const token = await devToken(userId, name, { role });
  if (!process.env.JWT_SECRET) process.stderr.write(`(signed with the dev-only secret "${await devJwtSecret()}"; valid 24 h)\n`);
  process.stdout.write(`${token}\n`);
}

if (isMain(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`${red("✗")} ${error.message}\n`);
    process.exit(1);
  });
}
