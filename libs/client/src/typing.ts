import type { Typist } from "./types.js";

export interface LocalTypingDeps {
  idleMs: number;
  /** `typing:start` is sent again after this while input continues (the server forgets a typist after 6 s). */
  renewMs: number;
  now: () => number;
  send: (event: "typing:start" | "typing:stop") => void;
}

/**
 * This user's typing in one conversation: the first keystroke sends `typing:start`, more
 * keystrokes renew it now and then, and 2 s without one (or a send) sends `typing:stop`.
 */
export class LocalTyping {
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private lastStartAt: number | undefined;

  constructor(private readonly deps: LocalTypingDeps) {}

  input(): void {
    const now = this.deps.now();
    if (this.lastStartAt === undefined || now - this.lastStartAt >= this.deps.renewMs) {
      this.lastStartAt = now;
      this.deps.send("typing:start");
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), this.deps.idleMs);
  }

  stop(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.lastStartAt === undefined) return;
    this.lastStartAt = undefined;
    this.deps.send("typing:stop");
  }

  /** Forgets the state without telling the server (disconnect, close: the server ends it by itself). */
  reset(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.lastStartAt = undefined;
  }
}

/**
 * Other members typing in one conversation. Each typist expires on its own unless renewed:
 * a lost `isTyping: false` (a dropped socket, a pod gone) never leaves an indicator stuck.
 */
export class RemoteTypists {
  private readonly typists = new Map<string, { userName: string; timer: ReturnType<typeof setTimeout> }>();
  private snapshot: readonly Typist[] = [];

  constructor(
    private readonly expiryMs: number,
    private readonly onChange: (typists: readonly Typist[]) => void,
  ) {}

  get list(): readonly Typist[] {
    return this.snapshot;
  }

  set(userId: string, userName: string, isTyping: boolean): void {
    const existing = this.typists.get(userId);
    if (!isTyping) {
      if (existing) this.remove(userId);
      return;
    }
    if (existing) {
      clearTimeout(existing.timer);
      existing.timer = setTimeout(() => this.remove(userId), this.expiryMs);
      if (existing.userName === userName) return;
      existing.userName = userName;
    } else {
      this.typists.set(userId, { userName, timer: setTimeout(() => this.remove(userId), this.expiryMs) });
    }
    this.changed();
  }

  /** A message from the typist ends their typing at once. */
  remove(userId: string): void {
    const t = this.typists.get(userId);
    if (!t) return;
    clearTimeout(t.timer);
    this.typists.delete(userId);
    this.changed();
  }

  clear(): void {
    for (const t of this.typists.values()) clearTimeout(t.timer);
    const had = this.typists.size > 0;
    this.typists.clear();
    if (had) this.changed();
  }

  private changed(): void {
    this.snapshot = [...this.typists].map(([userId, t]) => ({ userId, userName: t.userName }));
    this.onChange(this.snapshot);
  }
}
