import { ParleyError, type ClientEventName } from "@parley/protocol";
import { EVENT_LIMITS } from "../limits/limit-classes.js";
import type { RateLimiter } from "../limits/rate-limiter.js";

export interface EventGateDeps {
  limiter: Pick<RateLimiter, "consume">;
  /** Events of one socket handled at once at most (SOCKET_EVENTS_IN_FLIGHT_MAX). */
  maxInFlight: number;
  onOverCap: () => void;
}

/** One socket's events in flight (arrived, not yet answered). */
export interface InFlight {
  /** False, with nothing counted, when the socket is at its cap: answer the event with `overCap`. */
  begin(): boolean;
  end(): void;
}

/**
 * What a client event passes before its handler runs: the socket's cap on events in flight
 * (a client cannot queue unbounded work on the pod by not waiting for its acks), then the
 * user's limit of the event's class (limits/limit-classes.ts). Both refuse with RATE_LIMITED
 * before any work is done.
 */
export class EventGate {
  /** The refusal of an event over the socket's cap: wait for some acks, then retry. */
  readonly overCap: ParleyError;

  constructor(private readonly deps: EventGateDeps) {
    this.overCap = new ParleyError(
      "RATE_LIMITED",
      `at most ${deps.maxInFlight} events of one socket are handled at once; wait for their acks`,
      // About one round trip of the pod's work: the acks of what is in flight come back by then.
      100,
    );
  }

  forSocket(): InFlight {
    let inFlight = 0;
    // 0: no cap.
    const max = this.deps.maxInFlight || Infinity;
    return {
      begin: () => {
        if (inFlight >= max) {
          this.deps.onOverCap();
          return false;
        }
        inFlight++;
        return true;
      },
      end: () => {
        inFlight--;
      },
    };
  }

  /** The user's limit for the event, or undefined when its service counts it itself. */
  limit(event: ClientEventName, userId: string): Promise<void> | undefined {
    const cls = EVENT_LIMITS[event];
    return cls === "service" ? undefined : this.deps.limiter.consume(cls, userId);
  }
}
