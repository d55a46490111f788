import { describe, expect, it } from "vitest";
import type { OutboxRecord } from "../outbox-storage.js";
import { asyncStorageOutbox, type AsyncStorageLike } from "./async-storage-outbox.js";
import { bindAppState, type AppStateLike } from "./app-state-lifecycle.js";
import { netInfoNetwork, type NetInfoStateLike } from "./netinfo-network.js";

/** AsyncStorage's contract on a Map (the official jest mock is the same; the Expo example's tests use that one). */
function mapStorage(): AsyncStorageLike & { map: Map<string, string> } {
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

const record = (id: string): OutboxRecord => ({
  clientMessageId: id,
  conversationId: "c1",
  userId: "alice",
  senderName: "Alice",
  kind: "text",
  body: `body ${id}`,
  createdAt: new Date(0).toISOString(),
  status: "pending",
  order: 1,
});

describe("asyncStorageOutbox", () => {
  it("keeps one key per record, loads them back, deletes one, and leaves other keys alone", async () => {
    const storage = mapStorage();
    storage.map.set("app.theme", "dark");
    const outbox = asyncStorageOutbox(storage);
    await outbox.put(record("a"));
    await outbox.put(record("b"));
    expect([...storage.map.keys()].sort()).toEqual(["app.theme", "parley.outbox.a", "parley.outbox.b"]);
    await outbox.delete("a");
    const again = asyncStorageOutbox(storage); // a restart
    expect(await again.load()).toEqual([record("b")]);
    expect(storage.map.get("app.theme")).toBe("dark");
  });

  it("reads with version 3's getMany when there is one", async () => {
    const { multiGet: _unused, ...v3 } = mapStorage();
    const outbox = asyncStorageOutbox({ ...v3, getMany: async (keys) => Object.fromEntries(keys.map((k) => [k, v3.map.get(k) ?? null])) });
    await outbox.put(record("a"));
    expect(await outbox.load()).toEqual([record("a")]);
  });

  it("skips and removes a value that does not parse, instead of stopping the outbox", async () => {
    const storage = mapStorage();
    storage.map.set("parley.outbox.torn", "{\"clientMessageId\":");
    storage.map.set("parley.outbox.other", JSON.stringify(record("mismatch")));
    await asyncStorageOutbox(storage).put(record("ok"));
    expect((await asyncStorageOutbox(storage).load()).map((r) => r.clientMessageId)).toEqual(["ok"]);
    expect(storage.map.has("parley.outbox.torn")).toBe(false);
    expect(storage.map.has("parley.outbox.other")).toBe(false);
  });
});

describe("netInfoNetwork", () => {
  it("reports offline only when NetInfo is sure, and each change once", () => {
    let emit: (s: NetInfoStateLike) => void = () => {};
    let removed = 0;
    const network = netInfoNetwork({
      addEventListener: (fn) => {
        emit = fn;
        return () => removed++;
      },
    });
    const seen: boolean[] = [];
    const off = network.subscribe((online) => seen.push(online));
    emit({ isConnected: null, isInternetReachable: null }); // not known yet: not offline
    expect(network.isOffline()).toBe(false);
    emit({ isConnected: true, isInternetReachable: false });
    emit({ isConnected: false, isInternetReachable: false });
    expect(network.isOffline()).toBe(true);
    emit({ isConnected: true, isInternetReachable: true });
    expect(seen).toEqual([false, true]);
    off();
    expect(removed).toBe(1);
  });
});

describe("bindAppState", () => {
  function fakeAppState(current: string) {
    let listener: (s: string) => void = () => {};
    let removed = false;
    const appState: AppStateLike = {
      currentState: current,
      addEventListener: (_t, fn) => {
        listener = fn;
        return { remove: () => void (removed = true) };
      },
    };
    return { appState, change: (s: string) => listener(s), removed: () => removed };
  }
  function fakeClient() {
    const calls: string[] = [];
    return {
      calls,
      state: "online" as const,
      disconnect: () => void calls.push("disconnect"),
      connect: () => void calls.push("connect"),
      sync: () => void calls.push("sync"),
    };
  }

  it("background lets the socket go; active reconnects; a passing inactive only syncs", () => {
    const client = fakeClient();
    const app = fakeAppState("active");
    const unbind = bindAppState(client, app.appState);
    app.change("inactive");
    app.change("active");
    expect(client.calls).toEqual(["sync"]);
    app.change("background");
    app.change("background");
    app.change("inactive");
    app.change("active");
    expect(client.calls).toEqual(["sync", "disconnect", "connect"]);
    unbind();
    expect(app.removed()).toBe(true);
  });

  it("an app started in the background does not hold a socket", () => {
    const client = fakeClient();
    bindAppState(client, fakeAppState("background").appState);
    expect(client.calls).toEqual(["disconnect"]);
  });
});
