import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNativeClient, type AppStateLike, type AsyncStorageLike, type NetInfoStateLike, type ParleyClient } from "@parley/client/react-native";
import { startCluster, type Cluster } from "./cluster.js";
import { clientFor, onlineState, until } from "./client-helpers.js";

/** AsyncStorage's contract on a Map (a device's storage that outlives the app process). */
function deviceStorage(): AsyncStorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: async (k) => map.get(k) ?? null,
    setItem: async (k, v) => void map.set(k, v),
    removeItem: async (k) => void map.delete(k),
    getAllKeys: async () => [...map.keys()],
    multiGet: async (keys) => keys.map((k) => [k, map.get(k) ?? null] as const),
  };
}

/** React Native's AppState and NetInfo as the app sees them: the test moves them. */
function devicePlatform() {
  let appListener: (s: string) => void = () => {};
  let netListener: (s: NetInfoStateLike) => void = () => {};
  const appState: AppStateLike = {
    currentState: "active",
    addEventListener: (_type, fn) => {
      appListener = fn;
      return { remove: () => void (appListener = () => {}) };
    },
  };
  return {
    appState,
    netInfo: {
      addEventListener: (fn: (s: NetInfoStateLike) => void) => {
        netListener = fn;
        fn({ isConnected: true, isInternetReachable: true });
        return () => void (netListener = () => {});
      },
    },
    app: (state: string) => appListener(state),
    net: (isConnected: boolean) => netListener({ isConnected, isInternetReachable: isConnected }),
  };
}

/**
 * The React Native kit (`@parley/client/react-native`) against a real cluster, with the
 * native modules played by the test: the app going to the background and back, the network
 * going and returning, and the AsyncStorage outbox across an app restart.
 */
describe("client SDK: React Native kit", () => {
  let cluster: Cluster;
  const clients: ParleyClient[] = [];
  beforeAll(async () => {
    cluster = await startCluster({ gateways: 1 });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stop();
  });

  const nativeClient = (user: string, platform: ReturnType<typeof devicePlatform>, asyncStorage: AsyncStorageLike) => {
    const client = createNativeClient({
      url: cluster.url(0),
      getToken: () => cluster.token(user, user),
      reconnect: { baseMs: 100, maxMs: 1_000 },
      retry: { baseMs: 100, maxMs: 1_000 },
      asyncStorage,
      appState: platform.appState,
      netInfo: platform.netInfo,
    });
    clients.push(client);
    return client;
  };

  it("background lets the socket go and keeps the outbox; foreground reconnects, sends and syncs what was missed", async () => {
    const alice = clientFor(cluster, "rn-alice", "Alice");
    clients.push(alice);
    const platform = devicePlatform();
    const storage = deviceStorage();
    const bob = nativeClient("rn-bob", platform, storage);
    await Promise.all([onlineState(alice), onlineState(bob)]);
    const { id } = await alice.conversations.create({ kind: "group", memberIds: ["rn-bob"] });
    const view = bob.conversation(id);
    await alice.send(id, "before").settled;
    await until(() => view.messages.length === 1, "bob to see the first");

    platform.app("background");
    expect(bob.stateChange).toMatchObject({ current: "offline", reason: "disconnect" });
    const bobSockets = () => [...cluster.nodes[0]!.gateway.io.sockets.sockets.values()].filter((s) => s.data.userId === "rn-bob").length;
    await until(() => bobSockets() === 0, "the gateway to see bob's socket closed");
    const queued = bob.send(id, "written in the background");
    await until(() => storage.map.has(`parley.outbox.${queued.clientMessageId}`), "the queued message in AsyncStorage");
    await alice.send(id, "while bob is away").settled;
    await new Promise((r) => setTimeout(r, 300));
    expect(queued.status).toBe("pending");
    expect(view.messages.map((m) => m.body)).toEqual(["before", "written in the background"]);

    platform.app("active");
    await onlineState(bob);
    expect(bobSockets()).toBe(1);
    expect((await queued.settled).status).toBe("sent");
    await until(() => view.messages.length === 3, "the sync to bring alice's message");
    expect(view.messages.map((m) => [m.seq, m.body])).toEqual([
      [1, "before"],
      [2, "while bob is away"],
      [3, "written in the background"],
    ]);
    expect(storage.map.size).toBe(0);
  });

  it("NetInfo offline drops the socket at once and nothing dials; back online connects without waiting out the backoff", async () => {
    const platform = devicePlatform();
    const carol = nativeClient("rn-carol", platform, deviceStorage());
    await onlineState(carol);
    platform.net(false);
    expect(carol.stateChange).toMatchObject({ current: "offline", reason: "network-offline" });
    await new Promise((r) => setTimeout(r, 1_500)); // past the longest backoff (1 s)
    expect(carol.state).toBe("offline");
    platform.net(true);
    await until(() => carol.state === "online", "back online", 3_000);
  });

  it("a message queued in AsyncStorage by an app that was killed is sent by the next start", async () => {
    const storage = deviceStorage();
    const first = devicePlatform();
    const dave = nativeClient("rn-dave", first, storage);
    await onlineState(dave);
    const { id } = await dave.conversations.create({ kind: "group", memberIds: [] });
    first.app("background");
    const queued = dave.send(id, "survives the restart");
    await until(() => storage.map.size === 1, "written to AsyncStorage");
    await dave.close(); // the OS kills the app in the background

    const again = nativeClient("rn-dave", devicePlatform(), storage);
    const view = again.conversation(id);
    await until(() => view.messages.some((m) => m.status === "sent" && m.body === "survives the restart"), "the restarted app to send it");
    expect(view.messages.filter((m) => m.clientMessageId === queued.clientMessageId)).toHaveLength(1);
    await until(() => storage.map.size === 0, "AsyncStorage emptied");
  });
});
