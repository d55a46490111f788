/** Socket.IO room names. Every socket joins its user's room and one room per conversation. */
export const conversationRoom = (conversationId: string) => `conv:${conversationId}`;
export const userRoom = (userId: string) => `user:${userId}`;
