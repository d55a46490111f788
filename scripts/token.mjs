#!/usr/bin/env node
// `npm run token -- USER_ID [NAME]`: prints a development JWT (HS256, 24 h) signed with
// JWT_SECRET, or the dev default that `npm start` uses.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { devJwtSecret, jwtSecret } from "./dev-config.mjs";
import { ROOT, isMain, red } from "./lib.mjs";

export async function devToken(userId, name, { secret, expiresInSeconds = 24 * 3600 } = {}) {
  secret ??= await jwtSecret();
  const { SignJWT } = await import("jose");
  const jwt = new SignJWT(name ? { name } : {})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds);
  if (process.env.JWT_ISSUER) jwt.setIssuer(process.env.JWT_ISSUER);
  if (process.env.JWT_AUDIENCE) jwt.setAudience(process.env.JWT_AUDIENCE);
  return jwt.sign(new TextEncoder().encode(secret));
}

async function main() {
  const [userId, name] = process.argv.slice(2);
  if (!userId || userId.length > 128 || userId.startsWith("-")) {
    process.stderr.write("usage: npm run token -- USER_ID [NAME]   (USER_ID: 1..128 characters)\n");
    process.exit(2);
  }
  // jose, and the development secret from the built @parley/runtime.
  if (!existsSync(join(ROOT, "node_modules", "jose")) || !existsSync(join(ROOT, "libs", "runtime", "dist", "index.js"))) {
    const { ensureBuilt } = await import("./ensure-built.mjs");
    await ensureBuilt();
  }
  const token = await devToken(userId, name);
  if (!process.env.JWT_SECRET) process.stderr.write(`(signed with the dev-only secret "${await devJwtSecret()}"; valid 24 h)\n`);
  process.stdout.write(`${token}\n`);
}

if (isMain(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`${red("✗")} ${error.message}\n`);
    process.exit(1);
  });
}
