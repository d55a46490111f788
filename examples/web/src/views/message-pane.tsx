import { useConversation, useTyping } from "@parley/react";
import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from "react";
import { ConversationMenu, type ConversationMenuProps } from "../safety/conversation-menu.js";
import { MessageItem } from "./message-item.js";

/** Pixels from the top at which scrolling up fetches the previous page. */
const LOAD_OLDER_AT_PX = 80;

export interface MessagePaneProps {
  conversationId: string;
  label: string;
  muted: boolean;
  onToggleMute: () => void;
  /** The other member of a direct conversation (the menu blocks them). */
  peer: ConversationMenuProps["peer"];
  /** Users this user blocks: their messages show a placeholder. */
  blocked: ReadonlySet<string>;
}

/**
 * One open conversation: its messages (stored ones by seq, then own pending ones), ticks on
 * own messages, who is typing, the composer, scroll-back through history, and the
 * conversation's menu (mute, block). What is on
 * screen while the tab is visible is reported with `markShown`, which sends the read receipt.
 */
export function MessagePane({ conversationId, label, muted, onToggleMute, peer, blocked }: MessagePaneProps) {
  const conversation = useConversation(conversationId);
  const { messages, hasOlder, receipts, lastReadSeq, view } = conversation;
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const fromBottom = useRef(0);
  const loadingOlder = useRef(false);
  const [text, setText] = useState("");

  // Other members' watermarks, so ticks are right from the start (live receipts update them).
  useEffect(() => {
    view.members().catch(() => undefined);
    return () => view.stopTyping();
  }, [view]);

  const loadOlder = async (): Promise<void> => {
    if (loadingOlder.current || !view.hasOlder) return;
    loadingOlder.current = true;
    let added = 0;
    try {
      added = await view.loadOlder();
    } catch {
      // Offline or refused: the button stays, and the next scroll or reconnect tries again.
    } finally {
      loadingOlder.current = false;
    }
    // A short page may not fill the screen: keep going while the top is in sight.
    if (added > 0 && (scroller.current?.scrollTop ?? 0) < LOAD_OLDER_AT_PX) void loadOlder();
  };

  // Stay at the bottom for new messages; keep the reader's place when older ones are added above.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    el.scrollTop = atBottom.current ? el.scrollHeight : el.scrollHeight - fromBottom.current;
    fromBottom.current = el.scrollHeight - el.scrollTop;
  }, [messages]);

  // What is on screen while the tab is visible has been read.
  useEffect(() => {
    const markShown = () => {
      if (document.visibilityState !== "visible") return;
      let last = 0;
      for (const message of messages) if (message.seq !== undefined && message.seq > last) last = message.seq;
      if (last > lastReadSeq) view.markShown(last);
    };
    markShown();
    document.addEventListener("visibilitychange", markShown);
    return () => document.removeEventListener("visibilitychange", markShown);
  }, [messages, lastReadSeq, view]);

  const onScroll = () => {
    const el = scroller.current!;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    fromBottom.current = el.scrollHeight - el.scrollTop;
    if (el.scrollTop < LOAD_OLDER_AT_PX) void loadOlder();
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body = text.trim();
    if (!body) return;
    // Returns at once with the pending message; the outbox takes it from there.
    conversation.send(body);
    setText("");
  };

  return (
    <section className="pane" data-conversation-id={conversationId}>
      <header>
        <h2>{label}</h2>
        <ConversationMenu conversationId={conversationId} muted={muted} onToggleMute={onToggleMute} peer={peer} />
      </header>
      <div className="scroller" ref={scroller} onScroll={onScroll}>
        <button className="load-older" data-testid="load-older" type="button" hidden={!hasOlder} onClick={() => void loadOlder()}>
          Load older messages
        </button>
        <ul className="messages" data-testid="messages">
          {messages.map((message) => (
            <MessageItem key={message.key} message={message} receipts={receipts} senderBlocked={blocked.has(message.senderId)} />
          ))}
        </ul>
      </div>
      <TypingLine conversationId={conversationId} />
      <form className="composer" data-testid="composer" onSubmit={submit}>
        <input
          name="body"
          placeholder={`Message ${label}`}
          autoComplete="off"
          maxLength={4000}
          autoFocus
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            if (event.target.value) view.input();
            else view.stopTyping();
          }}
        />
        <button type="submit">Send</button>
      </form>
    </section>
  );
}

/** Its own component: a typist coming and going renders this line, not the message list. */
function TypingLine({ conversationId }: { conversationId: string }) {
  const names = useTyping(conversationId).map((t) => t.userName);
  const line = names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…` : names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : `${names.length} people are typing…`;
  return (
    <div className="typing" data-testid="typing" aria-live="polite">
      {line}
    </div>
  );
}
