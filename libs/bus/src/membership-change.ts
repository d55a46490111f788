import { z } from "zod";
import { LIMITS, UserIdSchema, UuidSchema } from "@parley/protocol";

/**
 * What a gateway publishes on the keyspace's `membershipChannel` when members join or leave a
 * conversation: every gateway drops its cached membership answers for these pairs.
 */
export const MembershipChangeSchema = z.object({ conversationId: UuidSchema, userIds: z.array(UserIdSchema) });
export type MembershipChange = z.infer<typeof MembershipChangeSchema>;

/**
 * v1.1: what a gateway publishes on the same channel when a user's safety state changes:
 * `blocks` (a block or unblock between these users) or `ban` (banned or unbanned). Every gateway
 * drops what it cached about these users; for `ban` it also closes their sockets. One channel
 * for every cluster-wide cache drop, so a pod has one subscription and one reconnect rule.
 */
export const UserSafetyChangeSchema = z.object({
  scope: z.enum(["blocks", "ban"]),
  // A block names its two users; an erasure may name a user and everyone on the other side of their blocks.
  userIds: z.array(UserIdSchema).min(1).max(LIMITS.membersPerRequest),
});
export type UserSafetyChange = z.infer<typeof UserSafetyChangeSchema>;

/** Anything heard on `membershipChannel`: a membership change has a conversationId, a safety change a scope. */
export const CacheInvalidationSchema = z.union([MembershipChangeSchema, UserSafetyChangeSchema]);
