import { z } from "zod";
import { UserIdSchema, UuidSchema } from "@parley/protocol";

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
export const UserSafetyChangeSchema = z.object({ scope: z.enum(["blocks", "ban"]), userIds: z.array(UserIdSchema).min(1).max(2) });
export type UserSafetyChange = z.infer<typeof UserSafetyChangeSchema>;

/** Anything heard on `membershipChannel`: a membership change has a conversationId, a safety change a scope. */
export const CacheInvalidationSchema = z.union([MembershipChangeSchema, UserSafetyChangeSchema]);
