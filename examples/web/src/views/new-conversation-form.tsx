import { useState, type FormEvent } from "react";

export interface NewConversation {
  memberIds: string[];
  title?: string;
}

/** Members by user id (comma-separated); one member and no title makes a direct conversation. */
export function NewConversationForm({ onCreate }: { onCreate: (input: NewConversation) => Promise<void> }) {
  const [members, setMembers] = useState("");
  const [title, setTitle] = useState("");
  const [error, setError] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const memberIds = members.split(",").map((id) => id.trim()).filter(Boolean);
    if (memberIds.length === 0) return;
    setError("");
    onCreate({ memberIds, title: title.trim() || undefined }).then(
      () => {
        setMembers("");
        setTitle("");
      },
      (failure: unknown) => setError(failure instanceof Error ? failure.message : String(failure)),
    );
  };
  return (
    <form className="new-conversation" data-testid="new-conversation" onSubmit={submit}>
      <input name="members" placeholder="user ids, e.g. bob, carol" required value={members} onChange={(e) => setMembers(e.target.value)} />
      <input name="title" placeholder="title (optional)" maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
      <button type="submit">New conversation</button>
      <p className="error" role="alert">
        {error}
      </p>
    </form>
  );
}
