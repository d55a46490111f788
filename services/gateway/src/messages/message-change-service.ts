import { conversationRoom } from "@parley/bus";
import {
  addReaction,
  appendAudit,
  deleteMessage,
  editMessage,
  removeReaction,
  type Database,
  type MessageChange,
  type MessageUpdate,
} from "@parley/db";
import { LIMITS, ParleyError, type Message } from "@parley/protocol";
import type { Caller } from "../auth/roles.js";
import type { DbGuard } from "../guard-db.js";
import type { ParleyServer } from "../socket/types.js";
import type { UserLimit } from "../limits/rate-limiter.js";
import { webhookEvent } from "@parley/bus";
import type { EventPublisher } from "../webhooks/event-publisher.js";

export interface MessageChangeServiceDeps {
  database: Database;
  io: ParleyServer;
  /**
   * Each change is fanned out to every member, so a client looping on reactions would flood
   * the room: changes have a per-user budget of their own (the send limit's numbers), so they
   * never eat into the user's sends.
   */
  rateLimiter: UserLimit;
  bodyMaxChars: number;
  dbGuard: DbGuard;
  /** message.updated for the events webhook, after each edit or deletion that changed something. */
  events: EventPublisher;
}

export interface Actor {
  userId: string;
}

/**
 * Edits, deletions and reactions: each is one short transaction in Postgres (libs/db
 * message-changes.ts), answered after the commit and then announced to the conversation's room
 * on every pod through the adapter. Changes that change nothing (a repeated reaction, an edit
 * to the same text, deleting a tombstone) are answered the same way and announced to no one.
 */
export class MessageChangeService {
  constructor(private readonly deps: MessageChangeServiceDeps) {}

  async edit(actor: Actor, input: { messageId: string; body: string }): Promise<{ message: Message }> {
    if (input.body.length > this.deps.bodyMaxChars) {
      throw new ParleyError("VALIDATION", `body: at most ${this.deps.bodyMaxChars} characters`);
    }
    await this.deps.rateLimiter.consume(actor.userId);
    const result = await this.commit(() => editMessage(this.deps.database.sql, { ...input, userId: actor.userId }), (r) => this.announceUpdate(r));
    return { message: expectOk(result, "edit").message };
  }

  async delete(actor: Actor, input: { messageId: string }): Promise<{ message: Message }> {
    await this.deps.rateLimiter.consume(actor.userId);
    const result = await this.commit(() => deleteMessage(this.deps.database.sql, { ...input, userId: actor.userId }), (r) => this.announceUpdate(r));
    return { message: expectOk(result, "delete").message };
  }

  /**
   * An admin's deletion of any message (a report resolved with delete_message): the same
   * tombstone and announcement as a member's deletion, recorded in the audit log. Not counted
   * against the admin's change budget: the admin routes have their own.
   */
  async moderate(admin: Caller, messageId: string): Promise<{ message: Message }> {
    const result = await this.commit(() => deleteMessage(this.deps.database.sql, { messageId, userId: admin.userId, moderator: true }), (r) => this.announceUpdate(r));
    const { message, changed } = expectOk(result, "delete");
    // After the deletion's own transaction (deleteMessage opens it): a lost line would be the
    // audit's only loss, and the report's resolution that follows is audited too.
    if (changed) {
      await this.deps.dbGuard.run(() =>
        appendAudit(this.deps.database.sql, { actorId: admin.userId, actorRole: admin.role, action: "message.delete", targetKind: "message", targetId: messageId }),
      );
    }
    return { message };
  }

  async react(actor: Actor, op: "add" | "remove", input: { messageId: string; emoji: string }): Promise<Record<string, never>> {
    await this.deps.rateLimiter.consume(actor.userId);
    const change = op === "add" ? addReaction : removeReaction;
    const result = await this.commit(() => change(this.deps.database.sql, { ...input, userId: actor.userId }), (r) => {
      if (r.status !== "ok" || !r.changed) return;
      this.deps.io.to(conversationRoom(r.conversationId)).emit("reaction", {
        conversationId: r.conversationId,
        messageId: input.messageId,
        userId: actor.userId,
        emoji: input.emoji,
        op,
      });
    });
    expectOk(result, `${op} a reaction to`);
    return {};
  }

  private announceUpdate(result: MessageUpdate): void {
    if (result.status !== "ok" || !result.changed) return;
    this.deps.io.to(conversationRoom(result.message.conversationId)).emit("message:updated", result.message);
    const m = result.message;
    // One event per version of the message: a retried edit that changed nothing queues none.
    this.deps.events.publish(
      webhookEvent("message.updated", `${m.id}:${m.editedAt ?? ""}:${m.deletedAt ?? ""}`, { messageId: m.id, conversationId: m.conversationId }),
    );
  }

  /**
   * Waits for the change's transaction within the request bound and announces what it did.
   * A change that commits after the caller was already answered UNAVAILABLE (a stalled
   * database) is announced when it lands: the client's retry will find it done, which changes
   * nothing and announces nothing, so this is the only chance to tell the other members.
   */
  private async commit<T>(work: () => Promise<T>, announce: (result: T) => void): Promise<T> {
    let answered = false;
    try {
      // The guard cancels the change when it gives up; one that committed all the same (the
      // cancel came too late) is still announced. A failure after the answer committed nothing.
      const result = await this.deps.dbGuard.run(async () => {
        const done = await work();
        if (answered) announce(done);
        return done;
      });
      announce(result);
      return result;
    } finally {
      answered = true;
    }
  }
}

/** The contract's codes for what the database said (see MessageChange). */
function expectOk<T>(result: MessageChange<T>, what: string): T {
  switch (result.status) {
    case "ok":
      return result;
    case "not_found":
      return fail(new ParleyError("NOT_FOUND", "no such message"));
    case "forbidden":
      return fail(new ParleyError("FORBIDDEN", `you may not ${what} this message`));
    case "deleted":
      // The tombstone exists and is visible, so NOT_FOUND would be untrue: the request
      // conflicts with the message's state.
      return fail(new ParleyError("CONFLICT", "the message was deleted"));
    case "too_many":
      return fail(new ParleyError("VALIDATION", `emoji: at most ${LIMITS.reactionsPerUserPerMessage} reactions per user on one message`));
  }
}

function fail(err: ParleyError): never {
  throw err;
}
