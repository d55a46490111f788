import { LIMITS } from "@parley/protocol";
import { useParleyClient } from "@parley/react";
import { useState, type FormEvent } from "react";
import { useAction } from "../safety/use-action.js";

/**
 * Bans (or lifts the ban of) any user by id, with an optional reason for the audit log. A ban
 * closes the user's sockets on every gateway at once; there is no "until" here: a moderator
 * lifts it with Unban.
 */
export function BanForm() {
  const client = useParleyClient();
  const action = useAction();
  const [userId, setUserId] = useState("");
  const [reason, setReason] = useState("");
  const [done, setDone] = useState<string>();

  const apply = (ban: boolean) => {
    const id = userId.trim();
    if (!id) return;
    const why = reason.trim();
    setDone(undefined);
    void action
      .run(() => (ban ? client.admin.ban(id, why ? { reason: why } : {}) : client.admin.unban(id)))
      .then((ok) => ok && setDone(ban ? `${id} is banned` : `${id} is no longer banned`));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    apply(true);
  };
  return (
    <form className="ban-form" data-testid="ban-form" onSubmit={submit}>
      <input name="userId" required maxLength={128} placeholder="user id" value={userId} onChange={(e) => setUserId(e.target.value)} />
      <input name="reason" maxLength={LIMITS.banReasonChars} placeholder="reason (optional)" value={reason} onChange={(e) => setReason(e.target.value)} />
      <button type="submit" disabled={action.busy}>
        Ban
      </button>
      <button type="button" data-testid="unban" disabled={action.busy} onClick={() => apply(false)}>
        Unban
      </button>
      {done ? (
        <span className="done" data-testid="ban-result">
          {done}
        </span>
      ) : null}
      {action.error ? <span className="error">refused: {action.error}</span> : null}
    </form>
  );
}
