import type { ClientAck, ClientEventName, ClientPayload, ErrorBody } from "@parley/protocol";
import { fullJitterDelay } from "./backoff.js";
import type { ConversationViewImpl } from "./conversation-view.js";
import type { ClientLogger } from "./types.js";

export interface ResumeDeps {
  views: () => Iterable<ConversationViewImpl>;
  view: (id: string) => ConversationViewImpl;
  request: <E extends ClientEventName>(event: E, payload: ClientPayload<E>) => Promise<ClientAck<E>>;
  online: () => boolean;
  pageSize: number;
  logger: ClientLogger;
  onError: (error: ErrorBody) => void;
  onResumed: () => void;
}

const RETRY = { baseMs: 1_000, maxMs: 30_000 };

/**
 * After every `session:ready`: one `sync` with the cursor of every conversation this client
 * holds (the newest page of the others), then each view pages forward by itself where the
 * answer was cut. Redis pub/sub is at-most-once, so this, not the live stream, is what makes
 * a reconnect lose nothing. A failed sync is retried with backoff while the socket stays up.
 */
export class ResumeLoop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private generation = 0;
  private answered = false;

  constructor(private readonly deps: ResumeDeps) {}

  /** This connection's sync has been answered and applied. */
  get synced(): boolean {
    return this.answered;
  }

  run(): void {
    this.stop();
    this.attempt = 0;
    void this.once(this.generation);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.generation++;
    this.answered = false;
  }

  private async once(generation: number): Promise<void> {
    if (!this.deps.online()) return;
    const cursors: Record<string, number> = {};
    // Views without a cursor (never synced, or placed without their newest page) get the newest page.
    for (const v of this.deps.views()) {
      const cursor = v.cursor;
      if (cursor !== undefined) cursors[v.id] = cursor;
    }
    const answer = await this.deps.request("sync", { cursors, limit: this.deps.pageSize });
    if (generation !== this.generation) return; // reconnected or closed meanwhile: that run decides
    if (!answer.ok) {
      this.deps.logger.warn?.({ code: answer.error.code }, "sync failed; retrying");
      this.deps.onError(answer.error);
      // Never sooner than the server asked (a RATE_LIMITED sync carries retryAfterMs).
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.once(generation);
      }, Math.max(answer.error.retryAfterMs ?? 0, fullJitterDelay(this.attempt++, RETRY)));
      return;
    }
    for (const conv of answer.conversations) this.deps.view(conv.id).applySync(conv, conv.id in cursors);
    this.answered = true;
    this.deps.onResumed();
  }
}
