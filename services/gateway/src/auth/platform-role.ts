import type { FastifyRequest } from "fastify";
import { ParleyError } from "@parley/protocol";
import type { VerifiedToken } from "./token-verifier.js";

/**
 * A minimal admin check until the roles module lands: the verified token's `parley_role`.
 * (Replaced by the roles module's guard at merge.)
 */
export const isAdmin = (user: VerifiedToken): boolean => (user as VerifiedToken & { role?: string }).role === "admin";

export function requireAdmin(req: FastifyRequest): VerifiedToken {
  const user = req.user;
  if (!user) throw new ParleyError("UNAUTHORIZED", "a bearer token is required");
  if (!isAdmin(user)) throw new ParleyError("FORBIDDEN", "needs parley_role admin");
  return user;
}
