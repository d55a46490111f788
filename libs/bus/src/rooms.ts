/** Socket.IO room names. Every socket joins its user's room and one room per conversation. */
export const conversationRoom = (conversationId: string) => `conv:${conversationId}`;
export const userRoom = (userId: string) => `user:${userId}`;

/** Where the persister answers a gateway pod's sends (sharded pub/sub, one channel per pod). */
export const ackChannel = (podId: string) => `parley:ack:{${podId}}`;
/** Membership changes: every gateway drops its cached answers for the named pairs. */
export const MEMBERSHIP_CHANNEL = "parley:membership";
