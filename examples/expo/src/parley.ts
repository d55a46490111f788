import AsyncStorage from "@react-native-async-storage/async-storage";
import NetInfo from "@react-native-community/netinfo";
import { AppState } from "react-native";
import { createNativeClient, type ParleyClient } from "@parley/client";

export interface SignIn {
  /** The gateway (load balancer) URL, e.g. http://10.0.2.2:3000 from an Android emulator. */
  gatewayUrl: string;
  /** The example web server (`npm start`), whose development-only `POST /dev/token` signs users in. */
  devServerUrl: string;
  userId: string;
  name: string;
}

/**
 * The app's client: `@parley/client` resolves to its React Native entry here (the
 * `react-native` export condition, as Metro uses it), with the kit wired in: the outbox in
 * AsyncStorage (messages written offline survive the app being killed), NetInfo (the socket
 * goes with the network and comes back at once), AppState (background lets the socket go;
 * foreground reconnects and syncs).
 */
export function connect(signIn: SignIn, fetchImpl: typeof fetch = fetch): ParleyClient {
  return createNativeClient({
    url: signIn.gatewayUrl,
    getToken: () => devToken(signIn, fetchImpl),
    asyncStorage: AsyncStorage,
    netInfo: NetInfo,
    appState: AppState,
  });
}

async function devToken(signIn: SignIn, fetchImpl: typeof fetch): Promise<string | null> {
  const res = await fetchImpl(`${signIn.devServerUrl.replace(/\/+$/, "")}/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId: signIn.userId, name: signIn.name }),
  });
  if (res.status === 401 || res.status === 403) return null;
  if (!res.ok) throw new Error(`dev token: HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}
