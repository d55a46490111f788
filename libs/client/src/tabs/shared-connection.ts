import type { ClientAck, ClientEventName, ClientPayload, ErrorBody, ServerEventName, ServerPayload } from "@parley/protocol";
import { Connection, type ConnectionDeps } from "../connection.js";
import type { ConnectionState, ConnectionStateChange, ConnectionStateReason } from "../types.js";
import type { ConnectionSnapshot, TabChannel, TabMessage } from "./tab-messages.js";

/** What the client uses of a connection: a `Connection`, or this tab's view of the shared one. */
export type ConnectionLike = Pick<Connection, "state" | "stateChange" | "url" | "offlineSince" | "disconnected" | "start" | "reconnect" | "disconnect" | "connect" | "request" | "close">;

export interface SharedConnectionDeps extends ConnectionDeps {
  channel: TabChannel;
  tabId: string;
  /** Builds the real connection when this tab becomes the holder (tests wrap it). */
  makeConnection?: (deps: ConnectionDeps) => Connection;
  /** After `start()`: join the election (the coordinator takes the lock). */
  onStart: () => void;
  /** After `close()`: leave it. */
  onClose: () => void;
}

interface Pending {
  resolve: (answer: { ok: true } | { ok: false; error: ErrorBody }) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * One tab's side of the connection its browser shares. The tab that holds the lock (see
 * tab-coordinator.ts) runs the real `Connection` and tells the others its state and every
 * server event; the others forward their requests to it and get the answer back. To the
 * client both look the same (state, requests, `onEvent`, `onReady`), so views, typing,
 * receipts and sync work unchanged in every tab.
 */
export class SharedConnection implements ConnectionLike {
  private real: Connection | undefined;
  private leader: string | undefined;
  private snapshot: ConnectionSnapshot;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  /** `disconnect()` in a tab that does not hold the socket: this tab stops following until `connect()`. */
  private paused = false;
  /** This tab's own state change (a follower's, or the holder's before its socket exists). */
  private change: ConnectionStateChange = { current: "connecting", previous: "connecting", reason: "start" };
  private readonly unlisten: () => void;

  constructor(private readonly deps: SharedConnectionDeps) {
    this.snapshot = { change: this.change, url: deps.urls[0]!, offlineSince: deps.now(), ready: undefined };
    this.unlisten = deps.channel.listen((m) => this.onMessage(m));
  }

  get state(): ConnectionState {
    return this.real?.state ?? this.change.current;
  }

  get stateChange(): ConnectionStateChange {
    return this.real?.stateChange ?? this.change;
  }

  get disconnected(): boolean {
    return this.real ? this.real.disconnected : this.paused;
  }

  get url(): string {
    return this.real?.url ?? this.snapshot.url;
  }

  get offlineSince(): number | undefined {
    return this.real ? this.real.offlineSince : this.snapshot.offlineSince;
  }

  /** Whether this tab holds the socket. */
  get holder(): boolean {
    return this.real !== undefined;
  }

  /** Asks the holder (if any) where things stand; the lock decides who holds the socket. */
  start(): void {
    this.deps.channel.post({ type: "hello", from: this.deps.tabId });
    this.deps.onStart();
  }

  /** This tab got the lock: open the socket here and speak for it. */
  promote(): void {
    if (this.closed || this.real) return;
    this.leader = this.deps.tabId;
    this.failPending("the tab that held the connection went away");
    // The holder before may have gone without a word (a crashed tab): connecting now, here.
    if (this.change.current !== "connecting") this.setOwnState("connecting", "retry");
    this.snapshot = { ...this.snapshot, ready: undefined };
    const me = this.deps.tabId;
    const publish = () => this.deps.channel.post({ type: "state", leader: me, snapshot: this.currentSnapshot() });
    this.real = (this.deps.makeConnection ?? ((d) => new Connection(d)))({
      ...this.deps,
      onState: (change) => {
        if (change.current !== "online") this.snapshot.ready = undefined;
        publish();
        this.deps.onState(change);
      },
      onReady: (ready) => {
        this.snapshot.ready = ready;
        publish();
        this.deps.onReady(ready);
      },
      onEvent: (event, payload) => {
        this.deps.channel.post({ type: "event", leader: me, event, payload });
        this.deps.onEvent(event, payload);
      },
    });
    this.real.start();
    // `disconnect()` before this tab got the lock: the socket it now holds pauses too.
    if (this.paused) this.real.disconnect();
  }

  reconnect(): void {
    if (this.real) this.real.reconnect();
    else if (!this.paused) this.deps.channel.post({ type: "reconnect", from: this.deps.tabId });
  }

  /**
   * In the holder: lets the browser's socket go (every tab goes offline, reason `disconnect`).
   * In another tab: this tab stops following the holder (offline, `disconnect`) and its
   * requests are refused until `connect()`; the other tabs keep the socket.
   */
  disconnect(): void {
    if (this.closed) return;
    if (this.real) return this.real.disconnect();
    if (this.paused) return;
    this.paused = true;
    this.failPending("disconnected");
    this.setOwnState("offline", "disconnect");
  }

  /** Ends `disconnect()`: the holder connects now; another tab follows the holder again. */
  connect(): void {
    if (this.closed) return;
    if (this.real) return this.real.connect();
    if (!this.paused) return;
    this.paused = false;
    this.setOwnState("connecting", "start");
    // The holder answers with its state; online, this tab syncs as after any connection.
    this.snapshot = { ...this.snapshot, ready: undefined };
    this.deps.channel.post({ type: "hello", from: this.deps.tabId });
  }

  async request<E extends ClientEventName>(event: E, payload: ClientPayload<E>, timeoutMs = this.deps.ackTimeoutMs): Promise<ClientAck<E>> {
    if (this.real) return this.real.request(event, payload, timeoutMs);
    if (this.closed || this.paused || this.change.current !== "online") return refusal("UNAVAILABLE", "not connected") as ClientAck<E>;
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(refusal("UNAVAILABLE", `no answer to ${event} from the tab holding the connection`) as ClientAck<E>);
      }, timeoutMs + 1_000);
      this.pending.set(id, { resolve: (answer) => resolve(answer as ClientAck<E>), timer });
      this.deps.channel.post({ type: "request", from: this.deps.tabId, id, event, payload, timeoutMs });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failPending("closed");
    if (this.real) {
      this.real.close();
      this.deps.channel.post({ type: "leaving", leader: this.deps.tabId });
    } else {
      this.setOwnState("closed", "closed");
    }
    this.unlisten();
    this.deps.onClose();
  }

  private currentSnapshot(): ConnectionSnapshot {
    const real = this.real!;
    return { change: real.stateChange, url: real.url, offlineSince: real.offlineSince, ready: real.state === "online" ? this.snapshot.ready : undefined };
  }

  private onMessage(m: TabMessage): void {
    if (this.closed) return;
    if (this.real) return this.serve(m);
    if (this.paused && m.type !== "reply") return;
    switch (m.type) {
      case "state":
        return this.follow(m.leader, m.snapshot);
      case "event":
        if (m.leader !== this.leader) return;
        return this.deps.onEvent(m.event, m.payload as ServerPayload<ServerEventName>);
      case "reply": {
        if (m.to !== this.deps.tabId) return;
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        return p.resolve(m.answer);
      }
      case "leaving":
        if (m.leader !== this.leader) return;
        // Another tab gets the lock and says so; until then this tab is connecting.
        this.leader = undefined;
        this.failPending("the tab that held the connection closed");
        return this.follow(undefined, {
          ...this.snapshot,
          change: { current: "connecting", previous: this.change.current, reason: "retry" },
          ready: undefined,
          offlineSince: this.snapshot.offlineSince ?? this.deps.now(),
        });
    }
  }

  /** The holder's state, taken over as this tab's own. */
  private follow(leader: string | undefined, snapshot: ConnectionSnapshot): void {
    if (leader !== undefined && leader !== this.leader) {
      // A new holder: what the old one had not answered will not be answered.
      this.failPending("the tab that held the connection changed");
      this.leader = leader;
    }
    const before = this.snapshot;
    const wasOnline = this.change.current === "online";
    this.snapshot = { ...snapshot };
    const next = snapshot.change;
    // The holder's change as this tab's own: a new state, or offline again with news (reason, retry time).
    if (next.current !== this.change.current || (next.current === "offline" && !sameChange(next, before.change))) this.setOwnState(next.current, next.reason, next.retryInMs);
    // Online under a holder this tab had not seen online: as after `session:ready` (sync, outbox, blocks).
    const ready = snapshot.ready;
    if (snapshot.change.current === "online" && ready && (!wasOnline || before.ready?.userId !== ready.userId)) this.deps.onReady(ready);
  }

  /** This tab's state, told to the client as a change from the one before. */
  private setOwnState(current: ConnectionState, reason: ConnectionStateReason, retryInMs?: number): void {
    this.change = { current, previous: this.change.current, reason, ...(retryInMs !== undefined ? { retryInMs } : {}) };
    this.deps.onState(this.change);
  }

  /** As the holder: answer another tab. */
  private serve(m: TabMessage): void {
    const real = this.real!;
    switch (m.type) {
      case "hello":
        return this.deps.channel.post({ type: "state", leader: this.deps.tabId, snapshot: this.currentSnapshot() });
      case "reconnect":
        return real.reconnect();
      case "request":
        void real.request(m.event, m.payload as ClientPayload<typeof m.event>, m.timeoutMs).then((answer) => {
          if (!this.closed) this.deps.channel.post({ type: "reply", to: m.from, id: m.id, answer: answer as { ok: true } });
        });
        return;
      case "state":
        // Two holders cannot both hold the lock; a stale message from the one before is ignored.
        return;
    }
  }

  private failPending(message: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.resolve(refusal("UNAVAILABLE", message));
    }
  }
}

function sameChange(a: ConnectionStateChange, b: ConnectionStateChange): boolean {
  return a.current === b.current && a.previous === b.previous && a.reason === b.reason && a.retryInMs === b.retryInMs;
}

function refusal(code: ErrorBody["code"], message: string): { ok: false; error: ErrorBody } {
  return { ok: false, error: { code, message } };
}
