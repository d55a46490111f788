import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import {
  ClientEvents,
  ErrorBodySchema,
  ServerEvents,
  type ClientAck,
  type ClientEventName,
  type ClientPayload,
  type ErrorBody,
  type ServerEventName,
  type ServerPayload,
} from "@parley/protocol";
import { fullJitterDelay, type BackoffOptions } from "./backoff.js";
import type { TokenSource } from "./token-source.js";
import { TokenRefresher } from "./token-refresher.js";
import { TransportChoice } from "./transport-choice.js";
import type { ClientLogger, ConnectionState, ConnectionStateChange, ConnectionStateReason, NetworkSignal } from "./types.js";

/** Makes the Socket.IO socket of one connection attempt (tests wrap it; apps never need to). */
export type SocketFactory = (url: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;

export interface ConnectionDeps {
  urls: readonly string[];
  tokens: TokenSource;
  transports: ("websocket" | "polling")[];
  logger: ClientLogger;
  now: () => number;
  backoff: BackoffOptions;
  refreshBeforeExpiryMs: number;
  ackTimeoutMs: number;
  socketFactory?: SocketFactory;
  random?: () => number;
  /** The platform's network signal (undefined: none, e.g. Node). */
  network: NetworkSignal | undefined;
  onState: (change: ConnectionStateChange) => void;
  /** `session:ready`: the socket is authenticated and in every room of the user. */
  onReady: (ready: ServerPayload<"session:ready">) => void;
  /** A validated server event (invalid ones are dropped with a debug line). */
  onEvent: <E extends ServerEventName>(event: E, payload: ServerPayload<E>) => void;
}

const SERVER_EVENTS = Object.keys(ServerEvents) as ServerEventName[];

/** Handshake budget: a gateway that does not answer within it counts as a failed attempt. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * One logical connection to the cluster: a fresh Socket.IO socket per attempt (Socket.IO's own
 * reconnection is off, so the backoff, the token of each attempt and the choice of URL are
 * ours), the observable state, token refresh while online, and typed requests with acks.
 */
export class Connection {
  private socket: Socket | undefined;
  private current: ConnectionState = "connecting";
  private lastChange: ConnectionStateChange = { current: "connecting", previous: "connecting", reason: "start" };
  /** `disconnect()` was called: nothing dials until `connect()`. */
  private paused = false;
  private attempts = 0;
  private urlIndex = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private offlineSinceMs: number | undefined;
  private readonly refresher: TokenRefresher;
  private stopListeningForNetwork: (() => void) | undefined;
  private readonly transports: TransportChoice;

  constructor(private readonly deps: ConnectionDeps) {
    this.offlineSinceMs = deps.now();
    this.transports = new TransportChoice(deps.transports);
    this.refresher = new TokenRefresher({
      now: deps.now,
      leadMs: deps.refreshBeforeExpiryMs,
      refresh: () => this.refreshToken(),
      onError: (err) => deps.logger.warn?.({ err }, "token refresh failed"),
    });
    this.listenForNetwork();
  }

  get state(): ConnectionState {
    return this.current;
  }

  get stateChange(): ConnectionStateChange {
    return this.lastChange;
  }

  /** The base URL of the current (or next) attempt: the HTTP API lives there too. */
  get url(): string {
    return this.deps.urls[this.urlIndex]!;
  }

  /** Since when no socket has been online (undefined while online). */
  get offlineSince(): number | undefined {
    return this.offlineSinceMs;
  }

  start(): void {
    void this.attempt(false, "start");
  }

  /** Connects now: skips a pending backoff wait, or leaves `unauthorized` with a fresh token. */
  reconnect(reason: ConnectionStateReason = "reconnect"): void {
    // Online, or an attempt already under way (waiting for a token or a handshake): nothing to do.
    if (this.closed || this.paused || this.current === "online" || this.current === "connecting") return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.attempt(this.current === "unauthorized", reason);
  }

  /** Lets the socket go and dials no more until `connect()`. */
  disconnect(): void {
    if (this.closed || this.paused) return;
    this.paused = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.refresher.disarm();
    this.teardown();
    this.offlineSinceMs ??= this.deps.now();
    this.setState("offline", "disconnect");
  }

  /** Ends `disconnect()`: connects now. */
  connect(): void {
    if (this.closed || !this.paused) return;
    this.paused = false;
    this.attempts = 0;
    void this.attempt(false, "start");
  }

  /** `disconnect()` is in force. */
  get disconnected(): boolean {
    return this.paused;
  }

  /** The ok ack, or the refusal (including "not connected" and "no ack in time" as UNAVAILABLE): never throws. */
  async request<E extends ClientEventName>(event: E, payload: ClientPayload<E>, timeoutMs = this.deps.ackTimeoutMs): Promise<ClientAck<E>> {
    const socket = this.socket;
    if (!socket || this.current !== "online") return refusal("UNAVAILABLE", "not connected");
    return new Promise((resolve) => {
      socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, answer: unknown) => {
        if (err) return resolve(refusal("UNAVAILABLE", `no answer to ${event}: ${err.message}`));
        resolve(parseAck(event, answer));
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.refresher.disarm();
    this.stopListeningForNetwork?.();
    this.stopListeningForNetwork = undefined;
    this.teardown();
    this.setState("closed", "closed");
  }

  private async attempt(freshToken: boolean, reason: ConnectionStateReason): Promise<void> {
    if (this.closed || this.paused) return;
    this.retryTimer = undefined;
    this.setState("connecting", reason);
    let token: string | null;
    try {
      token = await this.deps.tokens.get({ fresh: freshToken });
    } catch (err) {
      this.deps.logger.warn?.({ err }, "token provider failed; retrying");
      return this.fail(false, "token-failed");
    }
    if (this.closed || this.paused) return;
    if (token === null) return this.setState("unauthorized", "signed-out");
    if (this.deps.network?.isOffline()) return this.fail(false, "network-offline"); // the network's return brings us back sooner

    const url = this.url;
    const factory = this.deps.socketFactory ?? io;
    const transports = this.transports.next();
    const socket = factory(url, {
      auth: { token },
      transports,
      // A WebSocket that cannot open falls back to long-polling within the same attempt.
      tryAllTransports: this.transports.canFallBack,
      // Polling behind a load balancer's cookie affinity: the cookie must go with each request.
      withCredentials: this.transports.canFallBack,
      reconnection: false,
      forceNew: true,
      timeout: CONNECT_TIMEOUT_MS,
    });
    this.socket = socket;
    let expired = false;

    socket.on("session:ready", (raw: unknown) => {
      const parsed = ServerEvents["session:ready"].safeParse(raw);
      if (!parsed.success || this.socket !== socket) return;
      this.attempts = 0;
      this.offlineSinceMs = undefined;
      const engine = socket.io.engine as { transport?: { name?: string }; on?: (event: "upgrade", fn: (t: { name: string }) => void) => void } | undefined;
      this.transports.connected(engine?.transport?.name ?? "");
      engine?.on?.("upgrade", (t) => this.transports.connected(t.name));
      const claims = this.deps.tokens.claims;
      if (claims?.exp !== undefined) this.refresher.arm(claims.exp, claims.iat);
      this.setState("online", "ready");
      this.deps.onReady(parsed.data);
    });
    socket.on("session:expired", () => {
      expired = true;
      this.deps.tokens.invalidate();
    });
    socket.on("connect_error", (err: Error & { data?: { code?: string } }) => {
      if (this.socket !== socket) return;
      this.teardown();
      if (err.message === "unauthorized") {
        this.deps.logger.warn?.({ code: err.data?.code, url }, "the gateway refused the token");
        // A banned user: another token will not help (reconnect() tries again, e.g. once the ban ends).
        if (err.data?.code === "AUTH_BANNED") return this.setState("unauthorized", "banned");
        this.deps.tokens.invalidate();
        // A token fresh from the provider that is still refused will not get better by retrying.
        if (freshToken) return this.setState("unauthorized", "token-refused");
        return void this.attempt(true, "retry");
      }
      this.deps.logger.debug?.({ url, transports, err: err.message }, "connection attempt failed");
      this.transports.attemptFailed(transports);
      this.fail(true, "connect-failed");
    });
    socket.on("disconnect", (reason: string) => {
      if (this.socket !== socket) return;
      this.teardown();
      if (this.closed) return;
      this.deps.logger.info?.({ reason, expired }, "disconnected");
      this.fail(false, "disconnected");
    });
    for (const event of SERVER_EVENTS) {
      if (event === "session:ready" || event === "session:expired") continue;
      socket.on(event, (raw: unknown) => {
        const parsed = ServerEvents[event].safeParse(raw);
        if (!parsed.success) {
          this.deps.logger.debug?.({ event, issue: parsed.error.issues[0]?.message }, "malformed server event dropped");
          return;
        }
        this.deps.onEvent(event, parsed.data as ServerPayload<typeof event>);
      });
    }
  }

  /** Not connected: wait (full jitter) and try again, on the next URL when the attempt itself failed. */
  private fail(rotate: boolean, reason: ConnectionStateReason): void {
    if (this.closed || this.paused) return;
    this.refresher.disarm();
    this.offlineSinceMs ??= this.deps.now();
    if (rotate) this.urlIndex = (this.urlIndex + 1) % this.deps.urls.length;
    const delay = fullJitterDelay(this.attempts++, this.deps.backoff, this.deps.random);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.attempt(false, "retry"), delay);
    this.setState("offline", reason, delay);
  }

  /** Drops the current socket with every listener on it. */
  private teardown(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    socket.removeAllListeners();
    socket.disconnect();
  }

  private async refreshToken(): Promise<number | undefined> {
    const token = await this.deps.tokens.get({ fresh: true });
    if (!token) return undefined;
    const answer = await this.request("auth:refresh", { token });
    if (!answer.ok) {
      this.deps.logger.warn?.({ code: answer.error.code }, "auth:refresh refused");
      return undefined;
    }
    return answer.exp;
  }

  /**
   * The platform says when the network goes and returns. Gone: drop the socket at once (an
   * open WebSocket can linger for a ping timeout, ~45 s, and hold messages meanwhile) and do
   * not dial while it is gone. Back: reconnect now instead of waiting out the backoff.
   */
  private listenForNetwork(): void {
    const network = this.deps.network;
    if (!network) return;
    this.stopListeningForNetwork = network.subscribe((online) => {
      if (online) {
        if (this.current === "offline") this.reconnect("network-online");
        return;
      }
      if (this.closed || this.paused || !this.socket) return;
      this.deps.logger.info?.({}, "the network went away: dropping the socket");
      this.teardown();
      this.fail(false, "network-offline");
    });
  }

  private setState(state: ConnectionState, reason: ConnectionStateReason, retryInMs?: number): void {
    // An offline → offline change still reports: its reason or its retry time is news.
    if (this.current === state && state !== "offline") return;
    if (state !== "online") this.offlineSinceMs ??= this.deps.now();
    const previous = this.current;
    this.current = state;
    this.lastChange = { current: state, previous, reason, ...(retryInMs !== undefined ? { retryInMs } : {}) };
    this.deps.onState(this.lastChange);
  }
}

function refusal(code: ErrorBody["code"], message: string): { ok: false; error: ErrorBody } {
  return { ok: false, error: { code, message } };
}

function parseAck<E extends ClientEventName>(event: E, answer: unknown): ClientAck<E> {
  const a = answer as { ok?: unknown; error?: unknown } | null;
  if (a?.ok === true) {
    const parsed = ClientEvents[event].ack.safeParse(answer);
    if (parsed.success) return { ok: true, ...parsed.data } as ClientAck<E>;
    return refusal("INTERNAL", `malformed ${event} ack: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  }
  const error = ErrorBodySchema.safeParse(a?.error);
  return error.success ? { ok: false, error: error.data } : refusal("INTERNAL", `malformed ${event} refusal`);
}
