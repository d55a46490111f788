import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { HttpRoutes, ParleyError, parseOrThrow } from "@parley/protocol";
import type { TokenVerifier, VerifiedToken } from "../auth/token-verifier.js";
import { AuthError } from "../auth/token-verifier.js";
import type { UserRecords } from "../auth/user-records.js";
import { isAdminPath, requireAdmin } from "../auth/roles.js";
import type { ConversationService } from "../conversations/conversation-service.js";
import type { ReceiptService } from "../receipts/receipt-service.js";
import type { SendService } from "../send/send-service.js";
import type { SearchService } from "../messages/search-service.js";
import type { BanService } from "../safety/ban-service.js";
import type { BlockService } from "../safety/block-service.js";
import type { MuteService } from "../safety/mute-service.js";
import type { ReportService } from "../safety/report-service.js";

export interface RouteDeps {
  verify: TokenVerifier;
  conversations: ConversationService;
  receipts: ReceiptService;
  send: SendService;
  users: UserRecords;
  search: SearchService;
  bans: Pick<BanService, "refuseRequest">;
  blocks: Pick<BlockService, "block" | "unblock" | "list">;
  mutes: MuteService;
  reports: Pick<ReportService, "report">;
}

declare module "fastify" {
  interface FastifyRequest {
    user?: VerifiedToken;
  }
}

function bearer(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const [scheme, token] = header.split(" ");
  return scheme?.toLowerCase() === "bearer" ? token : undefined;
}

export function userOf(req: FastifyRequest): VerifiedToken {
  if (!req.user) throw new ParleyError("UNAUTHORIZED", "a bearer token is required");
  return req.user;
}

/** The contract's HTTP API (protocol.md, "HTTP API"); every input parsed with the catalog's schemas. */
export async function registerRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  app.addHook("onRequest", async (req) => {
    if (!req.url.startsWith("/v1/")) return;
    try {
      req.user = await deps.verify(bearer(req));
    } catch (err) {
      // The keys to judge the token are out of reach: 503, retry; not a bad token.
      if (err instanceof ParleyError && err.code === "UNAVAILABLE") throw err;
      const message = err instanceof AuthError ? err.message : "invalid token";
      throw new ParleyError("UNAUTHORIZED", message);
    }
    // Every /v1/admin/* route, whoever registers it: refused before its handler, and before
    // the users row is touched, for anyone whose token is not an admin's.
    if (isAdminPath(req.url)) requireAdmin(req.user);
    // A banned user's requests: 403 (a cached answer; its end is compared each time).
    await deps.bans.refuseRequest(req.user.userId);
    await deps.users.record(req.user.userId, req.user.name);
  });

  const r = HttpRoutes;
  app.post(r.createConversation.url, async (req, reply) => {
    const body = parseOrThrow(r.createConversation.body, req.body);
    const { conversation, created } = await deps.conversations.create(userOf(req).userId, body);
    return reply.code(created ? 201 : 200).send({ conversation });
  });

  app.patch(r.renameConversation.url, async (req) => {
    const { id } = parseOrThrow(r.renameConversation.params, req.params);
    const change = parseOrThrow(r.renameConversation.body, req.body);
    const user = userOf(req);
    return { conversation: await deps.conversations.update(user, id, change) };
  });

  app.get(r.listConversations.url, async (req) => {
    const query = parseOrThrow(r.listConversations.query, req.query);
    return deps.conversations.list(userOf(req).userId, query);
  });

  app.get(r.getConversation.url, async (req) => {
    const { id } = parseOrThrow(r.getConversation.params, req.params);
    return { conversation: await deps.conversations.get(userOf(req).userId, id) };
  });

  app.post(r.addMembers.url, async (req) => {
    const { id } = parseOrThrow(r.addMembers.params, req.params);
    const { userIds } = parseOrThrow(r.addMembers.body, req.body);
    return { conversation: await deps.conversations.addMembers(userOf(req).userId, id, userIds) };
  });

  app.delete(r.removeMember.url, async (req, reply: FastifyReply) => {
    const { id, userId } = parseOrThrow(r.removeMember.params, req.params);
    await deps.conversations.removeMember(userOf(req).userId, id, userId);
    return reply.code(204).send();
  });

  app.get(r.listMessages.url, async (req) => {
    const { id } = parseOrThrow(r.listMessages.params, req.params);
    const query = parseOrThrow(r.listMessages.query, req.query);
    return deps.conversations.history(userOf(req).userId, { conversationId: id, ...query });
  });

  app.post(r.sendMessage.url, async (req, reply) => {
    const { id } = parseOrThrow(r.sendMessage.params, req.params);
    const body = parseOrThrow(r.sendMessage.body, req.body);
    if (body.conversationId !== undefined && body.conversationId !== id) {
      throw new ParleyError("VALIDATION", "conversationId: does not match the URL");
    }
    const user = userOf(req);
    const result = await deps.send.send(user, { ...body, conversationId: id });
    return reply.code(201).send(result);
  });

  app.get(r.search.url, async (req) => {
    const query = parseOrThrow(r.search.query, req.query);
    return deps.search.search(userOf(req).userId, query);
  });

  app.put(r.putBlock.url, async (req, reply) => {
    const { userId } = parseOrThrow(r.putBlock.params, req.params);
    await deps.blocks.block(userOf(req), userId);
    return reply.code(204).send();
  });

  app.delete(r.deleteBlock.url, async (req, reply) => {
    const { userId } = parseOrThrow(r.deleteBlock.params, req.params);
    await deps.blocks.unblock(userOf(req), userId);
    return reply.code(204).send();
  });

  app.get(r.listBlocks.url, async (req) => deps.blocks.list(userOf(req).userId));

  app.put(r.muteConversation.url, async (req, reply) => {
    const { id } = parseOrThrow(r.muteConversation.params, req.params);
    const { until } = parseOrThrow(r.muteConversation.body, req.body ?? {});
    await deps.mutes.mute(userOf(req).userId, id, until);
    return reply.code(204).send();
  });

  app.delete(r.unmuteConversation.url, async (req, reply) => {
    const { id } = parseOrThrow(r.unmuteConversation.params, req.params);
    await deps.mutes.unmute(userOf(req).userId, id);
    return reply.code(204).send();
  });

  app.post(r.reportMessage.url, async (req, reply) => {
    const { id } = parseOrThrow(r.reportMessage.params, req.params);
    const body = parseOrThrow(r.reportMessage.body, req.body);
    const { reportId, created } = await deps.reports.report(userOf(req), { ...body, messageId: id });
    // A second report of the same message by the same user answers the first (200).
    return reply.code(created ? 201 : 200).send({ reportId });
  });

  app.post(r.markRead.url, async (req) => {
    const { id } = parseOrThrow(r.markRead.params, req.params);
    const { seq } = parseOrThrow(r.markRead.body, req.body);
    // HTTP has no device of its own: `unread` goes to every device of the reader.
    return deps.receipts.read(userOf(req).userId, id, seq);
  });
}
