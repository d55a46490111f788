import { z } from "zod";
import { UserIdSchema, UuidSchema } from "@parley/protocol";

/**
 * What a gateway publishes on the keyspace's `membershipChannel` when members join or leave a
 * conversation: every gateway drops its cached membership answers for these pairs.
 */
export const MembershipChangeSchema = z.object({ conversationId: UuidSchema, userIds: z.array(UserIdSchema) });
export type MembershipChange = z.infer<typeof MembershipChangeSchema>;
