import { act, fireEvent, render, screen, waitFor } from "@testing-library/react-native";
import AsyncStorage from "@react-native-async-storage/async-storage";
import NetInfo from "@react-native-community/netinfo";
import { AppState } from "react-native";
import { createNativeClient, type ParleyClient } from "@parley/client";
import { App } from "../App";

const conversationId = "6f1c2a7e-0b7d-4c3e-9a51-3d2f1e0c9b11";

/**
 * The app's screens and hooks rendered with React Native's test renderer, on the real SDK
 * (its React Native entry, the official AsyncStorage/NetInfo/AppState mocks). The HTTP API
 * answers from a stub (`fetch`); no socket connects (port 9), so the app is offline
 * throughout, which is what the banner and the pending row show.
 */
describe("the example app's screens", () => {
  let client: ParleyClient | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
  });

  function connectClient(): ParleyClient {
    client = createNativeClient({
      url: "http://127.0.0.1:9",
      getToken: () => devJwt("alice"),
      fetch: stubApi,
      asyncStorage: AsyncStorage,
      netInfo: NetInfo,
      appState: AppState,
      httpFallbackAfterMs: 0,
      reconnect: { baseMs: 60_000, maxMs: 60_000 },
    });
    return client;
  }

  it("signs in, lists conversations with the total unread, opens one and shows an own message as pending while offline", async () => {
    render(<App connectClient={connectClient} />);
    fireEvent.press(screen.getByTestId("sign-in"));

    await waitFor(() => expect(screen.getByTestId("total-unread")).toHaveTextContent("Conversations (2 unread)"), { timeout: 10_000 }).catch((err: unknown) => {
      screen.debug();
      throw err;
    });
    expect(screen.getByText("Team")).toBeTruthy();
    expect(await screen.findByTestId("connection-banner")).toBeTruthy();
    expect(screen.getByText(/Offline \(connect-failed\): retrying in \d+ s\.|Connecting…/)).toBeTruthy();

    fireEvent.press(screen.getByTestId(`conversation-${conversationId}`));
    fireEvent.changeText(screen.getByTestId("composer"), "hello from the phone");
    fireEvent.press(screen.getByTestId("send"));

    expect(await screen.findByText("hello from the phone")).toBeTruthy();
    expect(screen.getByText("sending…")).toBeTruthy();
    expect(screen.getByTestId("composer").props.value).toBe("");
    // The pending message is in the device's storage, for a restart to send.
    await waitFor(async () => expect((await AsyncStorage.getAllKeys()).some((k) => k.startsWith("parley.outbox."))).toBe(true));
  });

  it("the banner follows the state event: background says paused, foreground dials again", async () => {
    render(<App connectClient={connectClient} />);
    fireEvent.press(screen.getByTestId("sign-in"));
    await screen.findByTestId("connection-banner");
    const listener = (AppState.addEventListener as jest.Mock).mock.calls.at(-1)![1] as (s: string) => void;
    act(() => listener("background"));
    expect(screen.getByText("Paused (the app is in the background).")).toBeTruthy();
    act(() => listener("active"));
    expect(screen.queryByText("Paused (the app is in the background).")).toBeNull();
  });
});

/** `GET /v1/conversations`: one conversation with two unread; everything else 404. */
const stubApi: typeof fetch = async (input) => {
  const url = String(input instanceof Request ? input.url : input);
  if (url.includes("/v1/conversations?")) {
    const conversation = {
      id: conversationId,
      kind: "group",
      title: "Team",
      createdBy: "bob",
      createdAt: new Date(0).toISOString(),
      lastSeq: 3,
      lastReadSeq: 1,
      unreadCount: 2,
      lastMessage: null,
    };
    return new Response(JSON.stringify({ conversations: [conversation], nextCursor: null }), { status: 200, headers: { "content-type": "application/json" } });
  }
  return new Response(JSON.stringify({ error: { code: "NOT_FOUND", message: "not in this stub" } }), { status: 404 });
};

function devJwt(sub: string): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "none" })}.${b64({ sub, name: "Alice", iat: now, exp: now + 3600 })}.sig`;
}
