import type { ParleyClient } from "@parley/client";
import { createRoot } from "react-dom/client";
import { expect, it } from "vitest";
import { ParleyProvider, useBlocks } from "../src/index.js";

// useBlocks rendered by react-dom on a scripted client: the SDK's list and its `blocks` event.

function scriptedClient() {
  let userIds: readonly string[] = ["carol"];
  const listeners = new Set<(payload: { userIds: readonly string[] }) => void>();
  const client = {
    blocks: {
      get userIds() {
        return userIds;
      },
    },
    on: (event: string, fn: (payload: { userIds: readonly string[] }) => void) => {
      if (event !== "blocks") return () => undefined;
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
  } as unknown as ParleyClient;
  const change = (next: readonly string[]) => {
    userIds = [...next];
    listeners.forEach((fn) => fn({ userIds }));
  };
  return { client, change };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

it("useBlocks: the SDK's list as a set, re-rendered when it changes (from any device) and only then", async () => {
  const { client, change } = scriptedClient();
  const seen: ReadonlySet<string>[] = [];
  function Probe() {
    seen.push(useBlocks());
    return null;
  }
  const container = document.createElement("div");
  document.body.appendChild(container);
  const root = createRoot(container as unknown as Element);
  root.render(
    <ParleyProvider client={client} batchMs={0}>
      <Probe />
    </ParleyProvider>,
  );
  await settle();
  expect([...seen.at(-1)!]).toEqual(["carol"]);
  const rendersBefore = seen.length;
  change(["carol", "bob"]);
  await settle();
  expect([...seen.at(-1)!].sort()).toEqual(["bob", "carol"]);
  expect(seen.length).toBe(rendersBefore + 1);
  change([]);
  await settle();
  expect(seen.at(-1)!.size).toBe(0);
  root.unmount();
});
