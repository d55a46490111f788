import { ParleyError, type Role } from "@parley/protocol";

/** The prefix of the administration routes (protocol.md, "Administration"): admins only. */
export const ADMIN_ROUTE_PREFIX = "/v1/admin/";

/** An authenticated caller as the services see it, socket or HTTP. */
export interface Caller {
  userId: string;
  role: Role;
}

/**
 * Refuses anyone but an admin. FORBIDDEN, not NOT_FOUND: the administration routes are in the
 * contract, so their existence is no secret; what is refused is the caller.
 */
export function requireAdmin(caller: Pick<Caller, "role">): void {
  if (caller.role !== "admin") throw new ParleyError("FORBIDDEN", "this route needs a token whose parley_role is \"admin\"");
}

/** True for a request path under `/v1/admin/` (the query string ignored). */
export function isAdminPath(url: string): boolean {
  const path = url.split("?", 1)[0] ?? url;
  return path.startsWith(ADMIN_ROUTE_PREFIX);
}
