import type { DevUser } from "../dev-sign-in.js";
import { h } from "../dom.js";

/** The development sign-in: any user id and a display name (no password: development only). */
export function signInView(gateway: string, onSignIn: (user: DevUser) => void): HTMLElement {
  const userId = h("input", { name: "userId", required: true, maxlength: 128, placeholder: "alice", autocomplete: "username", autofocus: true });
  const name = h("input", { name: "name", maxlength: 64, placeholder: "Alice" });
  const form = h(
    "form",
    {
      class: "sign-in",
      "data-testid": "sign-in",
      onsubmit: (event) => {
        event.preventDefault();
        const id = userId.value.trim();
        if (!id) return;
        onSignIn({ userId: id, name: name.value.trim() || id });
      },
    },
    h("h1", {}, "Parley"),
    h("p", { class: "hint" }, "Development sign-in: any user id; the web server signs a token with the cluster's JWT_SECRET."),
    h("label", {}, "User id", userId),
    h("label", {}, "Display name", name),
    h("button", { type: "submit" }, "Sign in"),
    h("p", { class: "hint" }, "Gateway: ", h("code", {}, gateway), " (", h("code", {}, "?gateway=URL"), " picks another)"),
  );
  return form;
}
