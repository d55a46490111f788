/**
 * `@parley/client/react-native` (and `@parley/client` under the `react-native` export
 * condition, which Metro uses): everything of the main entry, plus the React Native kit.
 * The kit takes the native modules as arguments (`AsyncStorage`, `NetInfo`, `AppState`), so
 * this package depends on none of them: the app installs and passes its own.
 */
export * from "../index.js";
export { asyncStorageOutbox, type AsyncStorageLike, type AsyncStorageOutboxOptions } from "./async-storage-outbox.js";
export { netInfoNetwork, type NetInfoLike, type NetInfoStateLike } from "./netinfo-network.js";
export { bindAppState, type AppStateLike } from "./app-state-lifecycle.js";
export { createNativeClient, type NativeClientOptions } from "./create-native-client.js";
