import { h } from "../dom.js";

export interface NewConversation {
  memberIds: string[];
  title?: string;
}

/** Members by user id (comma-separated); one member and no title makes a direct conversation. */
export function newConversationForm(onCreate: (input: NewConversation) => Promise<void>): HTMLElement {
  const members = h("input", { name: "members", placeholder: "user ids, e.g. bob, carol", required: true });
  const title = h("input", { name: "title", placeholder: "title (optional)", maxlength: 200 });
  const error = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    {
      class: "new-conversation",
      "data-testid": "new-conversation",
      onsubmit: (event) => {
        event.preventDefault();
        const memberIds = members.value.split(",").map((id) => id.trim()).filter(Boolean);
        if (memberIds.length === 0) return;
        error.textContent = "";
        onCreate({ memberIds, title: title.value.trim() || undefined }).then(
          () => form.reset(),
          (failure: unknown) => (error.textContent = failure instanceof Error ? failure.message : String(failure)),
        );
      },
    },
    members,
    title,
    h("button", { type: "submit" }, "New conversation"),
    error,
  );
  return form;
}
