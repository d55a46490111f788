import { z } from "zod";

/**
 * Who a token speaks for (protocol.md, "Additions in v1.1"): the JWT claim `parley_role`.
 * "admin" may use the administration routes (`/v1/admin/*`); "service" (backends and bots)
 * may send `kind: "system"` to any conversation without being a member. Any other value,
 * or none, is an ordinary user: an unknown role grants nothing.
 */
export const ROLE_CLAIM = "parley_role";
export const RoleSchema = z.enum(["user", "admin", "service"]);
export type Role = z.infer<typeof RoleSchema>;

/** The role a token's `parley_role` claim grants; anything but the two known values is "user". */
export function roleOfClaim(claim: unknown): Role {
  return claim === "admin" || claim === "service" ? claim : "user";
}
