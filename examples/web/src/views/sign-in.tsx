import { useState, type FormEvent } from "react";
import type { DevUser } from "../dev-sign-in.js";

/** The development sign-in: any user id and a display name (no password: development only). */
export function SignIn({ gateway, onSignIn }: { gateway: string; onSignIn: (user: DevUser) => void }) {
  const [userId, setUserId] = useState("");
  const [name, setName] = useState("");
  const [admin, setAdmin] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const id = userId.trim();
    if (id) onSignIn({ userId: id, name: name.trim() || id, ...(admin ? { admin: true } : {}) });
  };
  return (
    <form className="sign-in" data-testid="sign-in" onSubmit={submit}>
      <h1>Parley</h1>
      <p className="hint">Development sign-in: any user id; the web server signs a token with the cluster's JWT_SECRET.</p>
      <label>
        User id
        <input name="userId" required maxLength={128} placeholder="alice" autoComplete="username" autoFocus value={userId} onChange={(e) => setUserId(e.target.value)} />
      </label>
      <label>
        Display name
        <input name="name" maxLength={64} placeholder="Alice" value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label className="check" title="Development only: the token gets parley_role admin, which opens the moderation page">
        <input type="checkbox" name="admin" checked={admin} onChange={(e) => setAdmin(e.target.checked)} />
        Sign in as admin (development only)
      </label>
      <button type="submit">Sign in</button>
      <p className="hint">
        Gateway: <code>{gateway}</code> (<code>?gateway=URL</code> picks another)
      </p>
    </form>
  );
}
