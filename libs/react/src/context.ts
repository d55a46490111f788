import type { ParleyClient } from "@parley/client";
import { createContext, createElement, useContext, useMemo, type ReactNode } from "react";
import { ConversationListStore } from "./conversation-list-store.js";
import { RenderBatcher } from "./render-batcher.js";

/** What the provider hands its hooks: the app's client and the stores derived from it (one each per client). */
export interface ParleyContextValue {
  client: ParleyClient;
  conversations: ConversationListStore;
  batcher: RenderBatcher;
}

const ParleyContext = createContext<ParleyContextValue | undefined>(undefined);

export interface ParleyProviderProps {
  /**
   * The app's client (`createClient(...)`). The app owns it: the provider neither creates nor
   * closes it, so a sign-out (close, then a new client) is a new `client` prop.
   */
  client: ParleyClient;
  /**
   * Changes are handed to React at most once per this many ms (default 16, a frame): a burst
   * of messages renders a component once per frame, not once per message. 0: at once.
   */
  batchMs?: number;
  children?: ReactNode;
}

/** Makes `client` available to the hooks below it. */
export function ParleyProvider({ client, batchMs = 16, children }: ParleyProviderProps): ReactNode {
  // The list store listens to the client only while a component subscribes: creating it
  // here has no side effect, so React may call this more than once.
  const value = useMemo<ParleyContextValue>(() => ({ client, conversations: new ConversationListStore(client), batcher: new RenderBatcher(batchMs) }), [client, batchMs]);
  return createElement(ParleyContext.Provider, { value }, children);
}

/** The provider's value; throws outside a `ParleyProvider` (a wiring bug, better loud than a silent undefined). */
export function useParleyContext(): ParleyContextValue {
  const value = useContext(ParleyContext);
  if (!value) throw new Error("Parley hooks need a <ParleyProvider client={client}> above them");
  return value;
}

/** The client of the nearest `ParleyProvider`, for what the hooks do not cover (edit, react, search...). */
export function useParleyClient(): ParleyClient {
  return useParleyContext().client;
}
