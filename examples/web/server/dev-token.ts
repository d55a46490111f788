import { ROLE_CLAIM } from "@parley/protocol";
import { SignJWT } from "jose";
import { z } from "zod";

/**
 * What the sign-in form posts: any user id the contract allows, a display name, and
 * `role: "admin"` for a moderator's token (the moderation page needs one; development only,
 * like everything this endpoint signs).
 */
export const DevTokenRequest = z.object({
  userId: z.string().trim().min(1).max(128),
  name: z.string().trim().min(1).max(64).optional(),
  role: z.literal("admin").optional(),
});
export type DevTokenRequest = z.infer<typeof DevTokenRequest>;

export interface DevTokenConfig {
  secret: string;
  issuer?: string;
  audience?: string;
  /** Lifetime of a token; the SDK asks for a new one before it runs out. */
  ttlSeconds: number;
}

/**
 * Signs a development JWT the way an identity provider would: HS256, `sub`, `name`, `exp`
 * (and `iss`/`aud` when the gateways check them, `parley_role` when asked for admin). There is no password: this endpoint
 * exists only on development servers (see web-config.ts).
 */
export async function signDevToken(config: DevTokenConfig, request: DevTokenRequest): Promise<{ token: string; exp: number }> {
  const exp = Math.floor(Date.now() / 1000) + config.ttlSeconds;
  const jwt = new SignJWT({ ...(request.name ? { name: request.name } : {}), ...(request.role ? { [ROLE_CLAIM]: request.role } : {}) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(request.userId)
    .setIssuedAt()
    .setExpirationTime(exp);
  if (config.issuer) jwt.setIssuer(config.issuer);
  if (config.audience) jwt.setAudience(config.audience);
  return { token: await jwt.sign(new TextEncoder().encode(config.secret)), exp };
}
