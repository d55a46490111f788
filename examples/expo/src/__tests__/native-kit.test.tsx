import AsyncStorage from "@react-native-async-storage/async-storage";
import { AppState } from "react-native";
import { connect } from "../parley";

/**
 * The SDK's React Native entry loaded as Metro would load it (the `react-native` export
 * condition), wired to the native modules' official jest mocks: the AsyncStorage mock (an
 * in-memory store with version 3's API), NetInfo's and React Native's AppState mock. No
 * gateway answers here (port 9): what is checked is the wiring, not the network.
 */
describe("the React Native kit in the React Native test environment", () => {
  const fetchToken = jest.fn(async () => new Response(JSON.stringify({ token: devJwt("alice") }), { status: 200 }));

  it("queues a message in AsyncStorage, and lets the socket go when AppState says background", async () => {
    const client = connect({ gatewayUrl: "http://127.0.0.1:9", devServerUrl: "http://dev.invalid", userId: "alice", name: "Alice" }, fetchToken as unknown as typeof fetch);
    try {
      const out = client.send("c-1", "written offline");
      await waitFor(async () => (await AsyncStorage.getItem(`parley.outbox.${out.clientMessageId}`)) !== null);
      const stored = JSON.parse((await AsyncStorage.getItem(`parley.outbox.${out.clientMessageId}`))!);
      expect(stored).toMatchObject({ body: "written offline", conversationId: "c-1", userId: "alice", status: "pending" });
      expect(fetchToken).toHaveBeenCalled();

      // The binding registered with AppState; drive it as the OS would.
      const listener = (AppState.addEventListener as jest.Mock).mock.calls.at(-1)![1] as (s: string) => void;
      listener("background");
      expect(client.stateChange).toMatchObject({ current: "offline", reason: "disconnect" });
      expect(client.stateChange.retryInMs).toBeUndefined();
      listener("active");
      expect(["connecting", "offline"]).toContain(client.state);
      expect(client.stateChange.reason).not.toBe("disconnect");
    } finally {
      await client.close();
    }
  });
});

/** An unsigned JWT-shaped token: the SDK reads its claims without verifying (the gateway does). */
function devJwt(sub: string): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "none" })}.${b64({ sub, name: "Alice", iat: now, exp: now + 3600 })}.sig`;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}
