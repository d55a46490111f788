import type { ConnectionDeps } from "../connection.js";
import type { OutboxDeps } from "../outbox.js";
import type { ClientLogger } from "../types.js";
import { holdLock, webLocks, type LockManagerLike } from "./leader-lock.js";
import { SharedConnection, type ConnectionLike } from "./shared-connection.js";
import { SharedOutbox, type OutboxLike } from "./shared-outbox.js";
import { broadcastChannel, type TabChannel } from "./tab-messages.js";

export interface TabCoordinatorOptions {
  /** Scopes the lock and the channel: one per user (tabs of different users never share). */
  name: string;
  tabId: string;
  logger: ClientLogger;
  /** Tests pass their own; browsers use `navigator.locks` and `BroadcastChannel`. */
  locks?: LockManagerLike;
  channel?: TabChannel;
}

export interface TabCoordinator {
  outbox(deps: OutboxDeps): OutboxLike;
  connection(deps: ConnectionDeps): ConnectionLike;
}

/**
 * One socket for all the tabs of a browser that share `name`: the tab that holds the Web
 * Lock `parley-connection:<name>` runs the socket and the sending outbox; the others reach
 * them over the BroadcastChannel of the same name. When the holder goes, the browser hands
 * the lock to the next waiting tab, which opens the socket and takes the outbox over from
 * storage. Undefined where there are no Web Locks or no BroadcastChannel (Node, React
 * Native, old browsers): the client then connects on its own, as without the option.
 */
export function createTabCoordinator(options: TabCoordinatorOptions): TabCoordinator | undefined {
  const locks = options.locks ?? webLocks();
  const hasChannel = options.channel !== undefined || typeof (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel === "function";
  if (!locks || !hasChannel) {
    options.logger.warn?.({}, "shareConnection: no Web Locks or BroadcastChannel here; this client connects on its own");
    return undefined;
  }
  const channel = options.channel ?? broadcastChannel(`parley-connection:${options.name}`);
  let outbox: SharedOutbox | undefined;
  let connection: SharedConnection | undefined;
  let lock: { release(): void } | undefined;

  const promote = async () => {
    options.logger.info?.({ tab: options.tabId }, "this tab holds the shared connection");
    // The outbox first: once the socket is online it sends whatever storage holds.
    await outbox?.promote();
    connection?.promote();
  };

  return {
    outbox(deps) {
      outbox = new SharedOutbox({ ...deps, channel, tabId: options.tabId });
      return outbox;
    },
    connection(deps) {
      connection = new SharedConnection({
        ...deps,
        channel,
        tabId: options.tabId,
        onStart: () => {
          lock = holdLock(locks, `parley-connection:${options.name}`, () => void promote(), (err) => options.logger.error?.({ err }, "the connection lock failed"));
        },
        onClose: () => {
          lock?.release();
          // Let the last message (`leaving`) go out before the channel closes.
          setTimeout(() => channel.close(), 0);
        },
      });
      return connection;
    },
  };
}
