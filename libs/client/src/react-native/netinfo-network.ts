import type { NetworkSignal } from "../types.js";

/** What the adapter reads of a `@react-native-community/netinfo` state. */
export interface NetInfoStateLike {
  isConnected: boolean | null;
  isInternetReachable?: boolean | null;
}

/** The part of `@react-native-community/netinfo`'s default export the adapter uses. */
export interface NetInfoLike {
  addEventListener(listener: (state: NetInfoStateLike) => void): () => void;
}

/**
 * The client's network signal from NetInfo. Offline means NetInfo says so for sure
 * (`isConnected === false`, or `isInternetReachable === false`); `null` (not known yet) is
 * not offline, so a device whose NetInfo has not answered still dials. NetInfo calls the
 * listener at once with the current state, and again on every change.
 */
export function netInfoNetwork(netInfo: NetInfoLike): NetworkSignal {
  let offline = false;
  const listeners = new Set<(online: boolean) => void>();
  let stop: (() => void) | undefined;
  const isOffline = (s: NetInfoStateLike) => s.isConnected === false || s.isInternetReachable === false;
  const start = () => {
    stop ??= netInfo.addEventListener((state) => {
      const now = isOffline(state);
      if (now === offline) return;
      offline = now;
      for (const fn of [...listeners]) fn(!now);
    });
  };
  return {
    isOffline: () => offline,
    subscribe(fn) {
      listeners.add(fn);
      start();
      return () => {
        listeners.delete(fn);
        if (listeners.size === 0) {
          stop?.();
          stop = undefined;
        }
      };
    },
  };
}
