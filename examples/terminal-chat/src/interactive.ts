import { createInterface } from "node:readline";
import { attempt, search, send, type ChatUser, type Seen } from "./chat-user.js";
import { bold, clock, dim, green, print, red } from "./terminal.js";

const HELP = [
  "type a message as alice, or:",
  "  /bob TEXT        speak as bob",
  "  /edit TEXT       alice edits her last message",
  "  /react EMOJI     alice reacts to the last message",
  "  /read            bob reads everything (alice sees the receipt)",
  "  /search WORDS    alice searches this conversation",
  "  /who             who is online (presence:query)",
  "  /quit or Ctrl-D  ends",
].join("\n");

export interface InteractiveChat extends Seen {
  alice: ChatUser;
  bob: ChatUser;
  conversationId: string;
}

/** Reads lines from the terminal until /quit or the end of input. */
export async function interactive(chat: InteractiveChat): Promise<void> {
  const { alice, bob, conversationId } = chat;
  print(dim(HELP));
  let lastOfAlice: { id: string; seq: number } | undefined;
  const latest = () => [...chat.seqOf.entries()].sort((a, b) => b[1] - a[1])[0];
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "" });
  for await (const line of rl) {
    const text = line.trim();
    const [command = "", ...rest] = text.split(" ");
    const arg = rest.join(" ").trim();
    if (!text) continue;
    if (text === "/quit") break;
    try {
      if (command === "/help") print(dim(HELP));
      else if (command === "/bob" && arg) await send(bob, conversationId, arg);
      else if (command === "/edit" && arg) {
        const target = lastOfAlice;
        if (!target) print(dim("alice has sent nothing yet"));
        else if (await attempt(alice, "message:edit", () => alice.client.edit(target.id, arg))) print(`${alice.tag} ${green("✓ edited")} ${bold(`#${target.seq}`)}`);
      } else if (command === "/react" && arg) {
        const [messageId, seq] = latest() ?? [];
        if (!messageId) print(dim("no message yet"));
        else if (await attempt(alice, "reaction:add", () => alice.client.react(messageId, arg).then(() => true))) {
          print(`${alice.tag} ${green("✓ reacted")} ${arg} to ${bold(`#${seq}`)}`);
        }
      } else if (command === "/read") {
        const seq = latest()?.[1];
        if (seq) {
          // What an app calls once the message is on screen: the SDK sends message:read.
          const view = bob.client.conversation(conversationId);
          view.markShown(seq);
          print(`${bob.tag} ${green("✓✓ read")} up to ${bold(`#${view.lastReadSeq}`)}, unread now ${bold(String(view.unreadCount))}`);
        }
      } else if (command === "/search" && arg) await search(alice, conversationId, arg);
      else if (command === "/who") {
        for (const [user, other] of [
          [alice, "bob"],
          [bob, "alice"],
        ] as const) {
          const p = (await attempt(user, "presence:query", () => user.client.presence([other])))?.[0];
          const status = p ? (p.status === "online" ? green("online") : `offline, last seen ${clock(p.lastSeenAt)}`) : "unknown";
          print(`${user.tag} ${dim("asks:")} ${other} is ${status}`);
        }
      } else if (command.startsWith("/")) print(dim(`unknown command or missing argument: ${text} ("/help" lists them)`));
      else {
        const message = await send(alice, conversationId, text);
        if (message) lastOfAlice = message;
      }
    } catch (error) {
      print(red(`✗ ${error instanceof Error ? error.message : String(error)}`));
    }
  }
  rl.close();
}
