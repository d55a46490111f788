import { createClient, indexedDbStorage, type ParleyClient } from "@parley/client";
import { ParleyProvider } from "@parley/react";
import { useEffect, useState } from "react";
import { devTokenProvider, rememberUser, rememberedUser, type DevUser } from "../dev-sign-in.js";
import { pickGateway } from "../gateway-url.js";
import { ChatScreen } from "./chat-screen.js";
import { SignIn } from "./sign-in.js";

interface Session {
  user: DevUser;
  client: ParleyClient;
  /** When this tab signed in: messages created before it are history, not news (no alert). */
  since: number;
}

function startSession(gateway: string, user: DevUser): Session {
  const client = createClient({
    url: gateway,
    getToken: devTokenProvider(user),
    // Messages written offline survive a reload: the outbox lives in IndexedDB, one per user.
    storage: indexedDbStorage({ name: `parley-outbox:${user.userId}` }),
    // The user's tabs share one socket and this outbox (docs/client.md, "Several tabs").
    shareConnection: { name: `parley:${user.userId}` },
  });
  return { user, client, since: Date.now() };
}

/** Picks the gateway, then shows the sign-in or the chat; the client lives from sign-in to sign-out. */
export function App() {
  const [gateway, setGateway] = useState<string>();
  const [session, setSession] = useState<Session>();

  useEffect(() => {
    let cancelled = false;
    void pickGateway(window.location).then((picked) => {
      if (cancelled) return;
      setGateway(picked);
      const user = rememberedUser();
      if (user) setSession(startSession(picked, user));
    });
    return () => {
      cancelled = true;
    };
  }, []);

  if (!gateway) return null;
  if (!session)
    return (
      <SignIn
        gateway={gateway}
        onSignIn={(user) => {
          rememberUser(user);
          setSession(startSession(gateway, user));
        }}
      />
    );
  return (
    <ParleyProvider client={session.client}>
      <ChatScreen
        user={session.user}
        gateway={gateway}
        since={session.since}
        onSignOut={() => {
          rememberUser(undefined);
          setSession(undefined);
          void session.client.close();
        }}
      />
    </ParleyProvider>
  );
}
