import { conversationRoom, userRoom } from "@parley/bus";
import type { ConversationService } from "../conversations/conversation-service.js";
import type { ParleyServer } from "../socket/types.js";
import type { TypingMetrics } from "./metrics.js";
import type { PressureGate } from "./pressure-gate.js";
import type { BlockService } from "../safety/block-service.js";

export interface TypingConfig {
  /** A start for the same user and conversation is forwarded at most once per this. */
  throttleMs: number;
  /** `isTyping: false` is sent when no start came for this long (the contract's 6 s). */
  timeoutMs: number;
}

export interface TypingDeps {
  io: ParleyServer;
  conversations: Pick<ConversationService, "requireRole">;
  gate: Pick<PressureGate, "shedding">;
  /** Neither side of a block sees the other typing (a cached answer per typist). */
  blocks: Pick<BlockService, "separatedFrom">;
  metrics: TypingMetrics;
  config: TypingConfig;
}

interface Typist {
  conversationId: string;
  userId: string;
  userName: string;
  /** Users on either side of a block with the typist, as of their last start: left out of the fan-out. */
  hiddenFrom: string[];
  /** When the throttle window began (the first start it forwarded): it runs from here, stops included. */
  lastForwardedAt: number;
  /** Starts forwarded in this window (at most STARTS_PER_WINDOW). */
  startsInWindow: number;
  /** What the room last heard from this typist (a throttled start after a stop is not heard yet). */
  typing: boolean;
  /**
   * A start throttled after a stop in this window, not stopped again since: it goes out when
   * the window ends, so a typist who stops and starts again is shown once the window allows.
   */
  startPending: boolean;
  /** Typing: the server's `isTyping: false` after the timeout. Stopped: when the typist is forgotten. */
  expiry: NodeJS.Timeout;
}

type Cause = "start" | "stop" | "expired" | "gone";

/**
 * Starts forwarded per throttle window after a stop: two, so a typist who sends a message (the
 * SDK's stop) and goes on typing the next is shown at once; alternating start and stop beyond
 * that waits for the window to end (at most two starts and two stops per window).
 */
const STARTS_PER_WINDOW = 2;

/**
 * Typing indicators: ephemeral (never stored, nothing in Redis but the fan-out itself),
 * throttled per (user, conversation), expired by the server, and the first thing dropped
 * when the pod is under pressure.
 *
 * State lives on the pod that receives the typist's events (their socket's pod). A user
 * typing on two devices on two pods has two independent states; each expires on its own.
 */
export class TypingService {
  private readonly typists = new Map<string, Typist>();
  /**
   * Per (user, conversation) with events still in their look-ups: the last event applied and
   * how many are in flight. Both a start and a stop wait for look-ups (membership; a start also
   * its blocks) that can finish out of order. An event older than one already applied is
   * dropped: a start overtaken by the stop sent after it (a send right after typing) would
   * leave the typist "typing" and throttle the next real start away unseen. An older event
   * finishing first is applied as usual, the newer one after it.
   */
  private readonly order = new Map<string, { applied: number; inFlight: number }>();
  private arrivals = 0;

  constructor(private readonly deps: TypingDeps) {}

  async start(user: { userId: string; name: string }, conversationId: string): Promise<Record<string, never>> {
    if (this.deps.gate.shedding) {
      // Answered as usual: the client cannot act on a refusal, and retrying would add load.
      this.deps.metrics.shed.inc();
      return {};
    }
    const key = keyOf(user.userId, conversationId);
    const arrival = this.arrive(key);
    const hiddenFrom = await this.lookUp(key, async () => {
      await this.deps.conversations.requireRole(conversationId, user.userId);
      return this.deps.blocks.separatedFrom(user.userId);
    });
    if (!this.applies(key, arrival)) return {};
    const now = Date.now();
    const typist = this.typists.get(key);
    if (typist) {
      typist.userName = user.name;
      typist.hiddenFrom = hiddenFrom;
      if (typist.typing) typist.expiry.refresh();
      // Within the window a refresh is never forwarded, and a start after a stop only while the
      // window has starts left: alternating start and stop cannot bypass the throttle.
      const inWindow = now - typist.lastForwardedAt < this.deps.config.throttleMs;
      if (inWindow && (typist.typing || typist.startsInWindow >= STARTS_PER_WINDOW)) {
        this.deps.metrics.throttled.inc();
        if (!typist.typing) typist.startPending = true;
        return {};
      }
      if (inWindow) typist.startsInWindow++;
      else {
        typist.lastForwardedAt = now;
        typist.startsInWindow = 1;
      }
      typist.startPending = false;
      if (!typist.typing) {
        typist.typing = true;
        clearTimeout(typist.expiry);
        typist.expiry = setTimeout(() => this.end(key, "expired"), this.deps.config.timeoutMs);
        typist.expiry.unref();
      }
      this.forward(typist, true, "start");
      return {};
    }
    const fresh: Typist = {
      conversationId,
      userId: user.userId,
      userName: user.name,
      hiddenFrom,
      lastForwardedAt: now,
      startsInWindow: 1,
      typing: true,
      startPending: false,
      expiry: setTimeout(() => this.end(key, "expired"), this.deps.config.timeoutMs),
    };
    fresh.expiry.unref();
    this.typists.set(key, fresh);
    this.forward(fresh, true, "start");
    return {};
  }

  async stop(user: { userId: string }, conversationId: string): Promise<Record<string, never>> {
    const key = keyOf(user.userId, conversationId);
    const arrival = this.arrive(key);
    await this.lookUp(key, () => this.deps.conversations.requireRole(conversationId, user.userId));
    if (!this.applies(key, arrival)) return {};
    const typist = this.typists.get(key);
    if (!typist) return {};
    const quietFor = typist.lastForwardedAt + this.deps.config.throttleMs - Date.now();
    if (quietFor <= 0) {
      this.end(key, "stop");
      return {};
    }
    // Stopped within the throttle window: the stop goes out now, and the typist is remembered
    // until the window ends, so starts after it count against the window's starts.
    typist.startPending = false;
    if (typist.typing) {
      typist.typing = false;
      this.forward(typist, false, "stop");
    }
    clearTimeout(typist.expiry);
    typist.expiry = setTimeout(() => this.windowEnded(key), quietFor);
    typist.expiry.unref();
    return {};
  }

  /** The user's last socket on this pod closed: whatever they were typing here ends now. */
  userGone(userId: string): void {
    for (const [key, typist] of this.typists) if (typist.userId === userId) this.end(key, "gone");
  }

  /** Typists being tracked on this pod. */
  get size(): number {
    return this.typists.size;
  }

  private arrive(key: string): number {
    const arrival = ++this.arrivals;
    const state = this.order.get(key);
    if (state) state.inFlight++;
    else this.order.set(key, { applied: 0, inFlight: 1 });
    return arrival;
  }

  /** Runs the event's look-ups; a refused event is no longer in flight (it is answered with the error). */
  private async lookUp<T>(key: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      this.settled(key);
      throw err;
    }
  }

  /** After its look-ups: false for an event older than one of its key already applied (dropped). */
  private applies(key: string, arrival: number): boolean {
    const state = this.order.get(key);
    const newer = state !== undefined && arrival < state.applied;
    if (state && !newer) state.applied = arrival;
    this.settled(key);
    return !newer;
  }

  /** Forgets the key once nothing of it is in flight: any later event has a higher arrival anyway. */
  private settled(key: string): void {
    const state = this.order.get(key);
    if (state && --state.inFlight === 0) this.order.delete(key);
  }

  close(): void {
    for (const typist of this.typists.values()) clearTimeout(typist.expiry);
    this.typists.clear();
    this.order.clear();
  }

  private end(key: string, cause: Cause): void {
    const typist = this.typists.get(key);
    if (!typist) return;
    clearTimeout(typist.expiry);
    this.typists.delete(key);
    if (typist.typing) this.forward(typist, false, cause);
  }

  /**
   * A stopped typist's throttle window is over: a start throttled since goes out now (with the
   * server's timeout armed, as for any start); otherwise there is nothing to tell anyone.
   */
  private windowEnded(key: string): void {
    const typist = this.typists.get(key);
    if (!typist || typist.typing) return;
    if (!typist.startPending) {
      this.typists.delete(key);
      return;
    }
    typist.startPending = false;
    typist.typing = true;
    typist.lastForwardedAt = Date.now();
    typist.startsInWindow = 1;
    typist.expiry = setTimeout(() => this.end(key, "expired"), this.deps.config.timeoutMs);
    typist.expiry.unref();
    this.forward(typist, true, "start");
  }


  /** To the conversation's room, except the typist's own devices (their user room) and whoever a block separates from them. */
  private forward(typist: Typist, isTyping: boolean, cause: Cause): void {
    this.deps.metrics.forwarded.inc({ cause });
    this.deps.io
      .to(conversationRoom(typist.conversationId))
      .except(typist.hiddenFrom.length === 0 ? userRoom(typist.userId) : [userRoom(typist.userId), ...typist.hiddenFrom.map(userRoom)])
      .emit("typing", { conversationId: typist.conversationId, userId: typist.userId, userName: typist.userName, isTyping });
  }
}

const keyOf = (userId: string, conversationId: string) => `${conversationId}|${userId}`;
