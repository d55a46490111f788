import type { Conversation } from "@parley/client";
import { useParleyClient } from "@parley/react";
import { useEffect, useState } from "react";

/**
 * Each listed conversation with its members (`GET /v1/conversations/:id`), for labels and
 * presence dots: the list's summaries do not carry members. Fetched once per conversation,
 * then kept current from `conversation:updated` (which carries the members).
 */
export function useConversationDetails(ids: readonly string[]): ReadonlyMap<string, Conversation> {
  const client = useParleyClient();
  const [details, setDetails] = useState<ReadonlyMap<string, Conversation>>(new Map());
  const key = ids.join(",");

  useEffect(
    () =>
      client.on("conversation", (conversation) => {
        if (conversation.members) setDetails((current) => new Map(current).set(conversation.id, conversation));
      }),
    [client],
  );

  useEffect(() => {
    let cancelled = false;
    const missing = key ? key.split(",").filter((id) => !details.has(id)) : [];
    if (missing.length === 0) return;
    void Promise.all(missing.map((id) => client.conversations.get(id).catch(() => undefined))).then((found) => {
      if (cancelled) return;
      setDetails((current) => {
        const next = new Map(current);
        for (const conversation of found) if (conversation) next.set(conversation.id, conversation);
        return next;
      });
    });
    return () => {
      cancelled = true;
    };
    // `details` is read only to skip what is known: adding to it must not fetch again.
  }, [client, key]);
  return details;
}

/** The other member of a direct conversation. */
export function peerOf(conversation: Conversation | undefined, me: string): string | undefined {
  if (conversation?.kind !== "direct") return undefined;
  return conversation.members?.find((m) => m.userId !== me)?.userId;
}

/** The title, or the other members' names, or what kind of conversation it is. */
export function labelOf(summary: { kind: string; title: string | null }, conversation: Conversation | undefined, me: string): string {
  if (summary.title) return summary.title;
  const others = conversation?.members?.filter((m) => m.userId !== me) ?? [];
  return others.length ? others.map((m) => m.displayName).join(", ") : summary.kind === "direct" ? "Direct conversation" : "Conversation";
}
