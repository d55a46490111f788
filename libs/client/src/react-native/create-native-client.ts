import { createClient } from "../create-client.js";
import type { ClientOptions, ParleyClient } from "../types.js";
import { asyncStorageOutbox, type AsyncStorageLike } from "./async-storage-outbox.js";
import { bindAppState, type AppStateLike } from "./app-state-lifecycle.js";
import { netInfoNetwork, type NetInfoLike } from "./netinfo-network.js";

export interface NativeClientOptions extends ClientOptions {
  /** `@react-native-async-storage/async-storage`'s default export: the outbox survives restarts (unless `storage` is given). */
  asyncStorage?: AsyncStorageLike;
  /** `@react-native-community/netinfo`'s default export: drop the socket when the network goes, dial at once when it returns (unless `network` is given). */
  netInfo?: NetInfoLike;
  /** React Native's `AppState`: let the socket go in the background, reconnect and sync in the foreground. */
  appState?: AppStateLike;
}

/**
 * `createClient` with the React Native kit wired in. Each native module is optional (an app
 * without NetInfo still works: it only reconnects on its backoff). `close()` also unbinds
 * the AppState listener.
 */
export function createNativeClient(options: NativeClientOptions): ParleyClient {
  const { asyncStorage, netInfo, appState, ...rest } = options;
  const client = createClient({
    ...rest,
    ...(rest.storage === undefined && asyncStorage ? { storage: asyncStorageOutbox(asyncStorage) } : {}),
    ...(!("network" in rest) && netInfo ? { network: netInfoNetwork(netInfo) } : {}),
  });
  if (!appState) return client;
  const unbind = bindAppState(client, appState);
  const close = client.close;
  client.close = () => {
    unbind();
    return close();
  };
  return client;
}
