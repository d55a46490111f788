import { useParleyClient } from "@parley/react";
import { useAction } from "./use-action.js";

/**
 * Blocks or unblocks one user. The label follows the SDK's block list (passed in as
 * `blocked`), which changes when the server has taken it: no optimistic state to undo.
 */
export function BlockButton({ userId, blocked, label }: { userId: string; blocked: boolean; label: string }) {
  const client = useParleyClient();
  const action = useAction();
  return (
    <>
      <button
        type="button"
        data-testid="block"
        data-user-id={userId}
        aria-pressed={blocked}
        disabled={action.busy}
        onClick={() => void action.run(() => (blocked ? client.blocks.unblock(userId) : client.blocks.block(userId)))}
        title={blocked ? undefined : "Hide their messages; they cannot message you directly or add you to conversations"}
      >
        {blocked ? `Unblock ${label}` : `Block ${label}`}
      </button>
      {action.error ? (
        <span className="error" data-testid="block-error">
          could not {blocked ? "unblock" : "block"}: {action.error}
        </span>
      ) : null}
    </>
  );
}
