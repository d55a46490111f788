import { HttpRoutes, type ClientEventName } from "@parley/protocol";

/**
 * The classes of work a user is limited in, each with a budget of its own (env.ts): a flood of
 * cheap typing events must not use up a user's sends, nor sends their reads.
 */
export const LIMIT_CLASSES = ["send", "changes", "reads", "search", "typing", "receipts", "conversations", "auth"] as const;
export type LimitClass = (typeof LIMIT_CLASSES)[number];

/**
 * Where an event or route is counted: at the edge (a class), or by the service it calls
 * (`"service"`: the send and change services count every attempt themselves, for sockets and
 * HTTP alike). A new event or route without an entry is a compile error.
 */
export type Counted = LimitClass | "service";

export const EVENT_LIMITS: Readonly<Record<ClientEventName, Counted>> = {
  "message:send": "service",
  "message:edit": "service",
  "message:delete": "service",
  "reaction:add": "service",
  "reaction:remove": "service",
  sync: "reads",
  "messages:history": "reads",
  "presence:query": "reads",
  "typing:start": "typing",
  "typing:stop": "typing",
  "message:delivered": "receipts",
  "message:read": "receipts",
  "auth:refresh": "auth",
  // Safety changes are rare writes, limited like conversation changes.
  "user:block": "conversations",
  "user:unblock": "conversations",
  "conversation:mute": "conversations",
  "conversation:unmute": "conversations",
  "message:report": "conversations",
};

export const ROUTE_LIMITS: Readonly<Record<keyof typeof HttpRoutes, Counted>> = {
  sendMessage: "service",
  createConversation: "conversations",
  renameConversation: "conversations",
  addMembers: "conversations",
  removeMember: "conversations",
  listConversations: "reads",
  getConversation: "reads",
  listMessages: "reads",
  search: "search",
  markRead: "receipts",
  // An export is one long read; the pod's cap on exports at once (EXPORT_MAX_CONCURRENT) bounds the rest.
  exportMe: "reads",
  exportUser: "reads",
  eraseUser: "conversations",
  getJob: "reads",
  putBlock: "conversations",
  deleteBlock: "conversations",
  listBlocks: "reads",
  muteConversation: "conversations",
  unmuteConversation: "conversations",
  reportMessage: "conversations",
  adminReports: "reads",
  adminResolveReport: "conversations",
  adminBan: "conversations",
  adminUnban: "conversations",
  adminAudit: "reads",
};

/** `"GET /v1/search"` → its class, for the HTTP hook (Fastify names a route by its URL pattern). */
export function routeLimits(): Map<string, Counted> {
  const out = new Map<string, Counted>();
  for (const [name, route] of Object.entries(HttpRoutes) as [keyof typeof HttpRoutes, { method: string; url: string }][]) {
    out.set(`${route.method} ${route.url}`, ROUTE_LIMITS[name]);
  }
  return out;
}
