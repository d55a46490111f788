// `npm run chat`: a terminal chat on @parley/client against a running cluster (`npm start`).
// bob connects to gateway :3001 and creates a group with alice, who connects to :3000.
//
//   interactive (a terminal): type as alice; "/help" lists the commands ("/bob TEXT" speaks
//   as bob, "/edit", "/react", "/read", "/search", "/who"); "/quit" or Ctrl-D ends.
//   --demo, or stdin not a terminal: a scripted tour of the contract across the two gateways
//   (presence, typing, messages, delivered and read receipts, unread count, an edit, a
//   reaction, search, bob going offline); exits 0 when everything was seen, 1 otherwise
//   with what was not.
// Options: --a=URL --b=URL (gateways, default http://localhost:3000 and :3001).
import { ParleyRequestError } from "@parley/client";
import { connectAs, type ChatUser, type Seen } from "./chat-user.js";
import { demo } from "./demo.js";
import { Inbox } from "./inbox.js";
import { interactive } from "./interactive.js";
import { parseOptions } from "./options.js";
import { dim, print, red, sleep } from "./terminal.js";

async function main(): Promise<boolean> {
  const options = parseOptions(process.argv.slice(2), process.stdin.isTTY === true);
  const seen: Seen = { inbox: new Inbox(), seqOf: new Map<string, number>() };
  const users: ChatUser[] = [];
  const connect = async (id: ChatUser["id"], url: string) => {
    const user = await connectAs(id, url, seen);
    users.push(user);
    return user;
  };
  try {
    // bob connects first, so he is there to see alice come online. He creates the group: alice
    // cannot (over HTTP) before she connects, as the SDK's client connects from the start.
    const bob = await connect("bob", options.gatewayB);
    const conversation = await bob.client.conversations.create({ kind: "group", memberIds: ["alice"], title: "demo" });
    seen.conversationId = conversation.id;
    print(`${bob.tag} created group "${conversation.title ?? "demo"}" ${dim(conversation.id)} with alice ${dim("(HTTP)")}`);
    // Membership reaches live sockets cluster-wide asynchronously; give it a moment.
    await sleep(300);
    const chat = { ...seen, bob, conversationId: conversation.id };
    if (options.demo) return await demo({ ...chat, connectAlice: () => connect("alice", options.gatewayA) });
    await interactive({ ...chat, alice: await connect("alice", options.gatewayA) });
    return true;
  } finally {
    await Promise.all(users.map((u) => u.client.close()));
    // Let the close frames leave: a socket dropped without one counts as online until the
    // server's ping timeout, and the next run would not see alice come online.
    await sleep(200);
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error: unknown) => {
    const why = error instanceof ParleyRequestError ? `refused: ${error.code} ${error.message}` : error instanceof Error ? error.message : String(error);
    process.stderr.write(`${red("✗")} ${why}\n  ${dim("is the cluster running? start it with: npm start")}\n`);
    process.exit(1);
  },
);
