import { createClient, indexedDbStorage, type ParleyClient } from "@parley/client";
import { devTokenProvider, rememberUser, rememberedUser, type DevUser } from "./dev-sign-in.js";
import { pickGateway } from "./gateway-url.js";
import "./style.css";
import { chatApp } from "./views/chat-app.js";
import { signInView } from "./views/sign-in-view.js";

const root = document.querySelector<HTMLElement>("#app")!;
let client: ParleyClient | undefined;
let disposeApp: (() => void) | undefined;

function showSignIn(gateway: string): void {
  root.replaceChildren(signInView(gateway, (user) => signIn(gateway, user)));
}

function signIn(gateway: string, user: DevUser): void {
  rememberUser(user);
  client = createClient({
    url: gateway,
    getToken: devTokenProvider(user),
    // Messages written offline survive a reload: the outbox lives in IndexedDB, one per user.
    storage: indexedDbStorage({ name: `parley-outbox:${user.userId}` }),
    // The user's tabs share one socket and this outbox (docs/client.md, "Several tabs").
    shareConnection: { name: `parley:${user.userId}` },
  });
  const app = chatApp({ client, user, gateway, onSignOut: () => void signOut(gateway) });
  disposeApp = app.dispose;
  root.replaceChildren(app.element);
}

async function signOut(gateway: string): Promise<void> {
  rememberUser(undefined);
  disposeApp?.();
  await client?.close();
  client = undefined;
  showSignIn(gateway);
}

async function start(): Promise<void> {
  const gateway = await pickGateway(window.location);
  const user = rememberedUser();
  if (user) signIn(gateway, user);
  else showSignIn(gateway);
}

void start();
