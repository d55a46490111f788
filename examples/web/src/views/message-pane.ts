import type { ChatMessage, ConversationView, ParleyClient } from "@parley/client";
import { h, timeOf } from "../dom.js";
import { TICK_GLYPHS, ticksOf } from "../ticks.js";

export interface MessagePane {
  element: HTMLElement;
  /** Renders again (the SDK's view changed, or the page became visible). */
  render(): void;
  dispose(): void;
}

/** Pixels from the top at which scrolling up fetches the previous page. */
const LOAD_OLDER_AT_PX = 80;

/**
 * One open conversation: its messages (stored ones by seq, then own pending ones), ticks on
 * own messages, who is typing, the composer, and scroll-back through history. What is on
 * screen while the tab is visible is reported with `markShown`, which sends the read receipt.
 */
export function messagePane(client: ParleyClient, view: ConversationView, label: string): MessagePane {
  const list = h("ul", { class: "messages", "data-testid": "messages" });
  const older = h("button", { class: "load-older", "data-testid": "load-older", type: "button", hidden: true, onclick: () => void loadOlder() }, "Load older messages");
  const scroller = h("div", { class: "scroller" }, older, list);
  const typing = h("div", { class: "typing", "data-testid": "typing", "aria-live": "polite" });
  const body = h("input", { name: "body", placeholder: `Message ${label}`, autocomplete: "off", maxlength: 4000 });
  const composer = h(
    "form",
    {
      class: "composer",
      "data-testid": "composer",
      onsubmit: (event) => {
        event.preventDefault();
        const text = body.value.trim();
        if (!text) return;
        // Returns at once with the pending message; the outbox takes it from there.
        view.send(text);
        body.value = "";
      },
    },
    body,
    h("button", { type: "submit" }, "Send"),
  );
  body.addEventListener("input", () => {
    if (body.value) view.input();
    else view.stopTyping();
  });
  const element = h("section", { class: "pane", "data-conversation-id": view.id }, h("header", {}, h("h2", {}, label)), scroller, typing, composer);

  let loadingOlder = false;
  let shownSeq = 0;

  async function loadOlder(): Promise<void> {
    if (loadingOlder || !view.hasOlder) return;
    loadingOlder = true;
    let added = 0;
    try {
      added = await view.loadOlder();
    } catch {
      // Offline or refused: the button stays, and the next scroll or reconnect tries again.
    } finally {
      loadingOlder = false;
    }
    // A short page may not fill the screen: keep going while the top is in sight.
    if (added > 0 && scroller.scrollTop < LOAD_OLDER_AT_PX) void loadOlder();
  }
  // Follow new messages while the reader is at the bottom; keep their place when they scrolled up.
  let atBottom = true;
  scroller.addEventListener("scroll", () => {
    atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    if (scroller.scrollTop < LOAD_OLDER_AT_PX) void loadOlder();
  });

  function markShown(): void {
    if (document.visibilityState !== "visible") return;
    let last = 0;
    for (const message of view.messages) if (message.seq !== undefined && message.seq > last) last = message.seq;
    if (last > shownSeq && last > view.lastReadSeq) {
      shownSeq = last;
      view.markShown(last);
    }
  }

  function render(): void {
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    list.replaceChildren(...view.messages.map((message) => messageItem(client, view, message)));
    older.hidden = !view.hasOlder;
    typing.textContent = typingLine(view.typing.map((t) => t.userName));
    // Stay at the bottom for new messages; keep the reader's place when older ones are added above.
    scroller.scrollTop = atBottom ? scroller.scrollHeight : scroller.scrollHeight - fromBottom;
    markShown();
  }

  const unsubscribe = view.subscribe(render);
  const onVisible = () => markShown();
  document.addEventListener("visibilitychange", onVisible);
  render();
  // Other members' watermarks, so ticks are right from the start (live receipts update them).
  view.members().catch(() => undefined);
  return {
    element,
    render,
    dispose() {
      unsubscribe();
      document.removeEventListener("visibilitychange", onVisible);
      view.stopTyping();
    },
  };
}

function messageItem(client: ParleyClient, view: ConversationView, message: ChatMessage): HTMLElement {
  const ticks = message.own ? ticksOf(message, view.receipts) : undefined;
  return h(
    "li",
    {
      class: message.own ? "own" : "other",
      "data-key": message.key,
      "data-seq": message.seq,
      "data-status": message.status,
      "data-sender": message.senderId,
    },
    message.own ? null : h("span", { class: "sender" }, message.senderName),
    h("span", { class: message.body === null ? "body deleted" : "body" }, message.body ?? "message deleted"),
    h(
      "span",
      { class: "meta" },
      timeOf(message.createdAt),
      message.editedAt ? " · edited" : "",
      ticks ? h("span", { class: `ticks ${ticks}`, "data-ticks": ticks, title: ticks }, TICK_GLYPHS[ticks]) : null,
    ),
    message.status === "failed"
      ? h(
          "span",
          { class: "failure" },
          `not sent: ${message.error?.code ?? "refused"}`,
          h("button", { type: "button", onclick: () => client.retry(message.clientMessageId) }, "retry"),
          h("button", { type: "button", onclick: () => void client.discard(message.clientMessageId) }, "discard"),
        )
      : null,
  );
}

function typingLine(names: readonly string[]): string {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}
