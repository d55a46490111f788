import { DEV_JWT_SECRET } from "@parley/runtime";
import { SignJWT } from "jose";

/**
 * The SDK's `getToken` for a development user: a 24-hour HS256 token signed with JWT_SECRET
 * (or the development secret `npm start` gives the gateways), with JWT_ISSUER/JWT_AUDIENCE
 * when the gateways check them. A real app asks its identity provider instead.
 */
export async function devToken(userId: string, name: string): Promise<string> {
  const jwt = new SignJWT({ name }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setSubject(userId).setIssuedAt().setExpirationTime("24h");
  if (process.env.JWT_ISSUER) jwt.setIssuer(process.env.JWT_ISSUER);
  if (process.env.JWT_AUDIENCE) jwt.setAudience(process.env.JWT_AUDIENCE);
  return jwt.sign(new TextEncoder().encode(process.env.JWT_SECRET || DEV_JWT_SECRET));
}
