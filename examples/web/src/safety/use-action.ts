import { ParleyRequestError } from "@parley/client";
import { useState } from "react";

export interface Action {
  busy: boolean;
  /** Why the last attempt failed (the error code when the server gave one), until the next one. */
  error: string | undefined;
  run: (work: () => Promise<unknown>) => Promise<boolean>;
}

/**
 * One button's server call: disables it while it runs and keeps the reason it failed, so a
 * refused block, mute, report or resolve is shown where it was asked for rather than lost.
 */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = async (work: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
      return true;
    } catch (caught) {
      setError(reasonOf(caught));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

/** The SDK's errors carry the contract's code (FORBIDDEN, NOT_FOUND, …); anything else its message. */
function reasonOf(error: unknown): string {
  if (error instanceof ParleyRequestError) return error.code;
  return error instanceof Error ? error.message : String(error);
}
