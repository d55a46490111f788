/**
 * A load generator's side of the orchestrator's IPC: commands are handled one at a time, in
 * the order they arrive, and a command that throws is reported instead of killing the child.
 */
export function handleCommandsInOrder<C>(handle: (command: C) => Promise<void>, reportError: (message: string) => void): void {
  let queue: Promise<void> = Promise.resolve();
  process.on("message", (command: C) => {
    queue = queue.then(async () => {
      try {
        await handle(command);
      } catch (error) {
        reportError(error instanceof Error ? error.message : String(error));
      }
    });
  });
}
