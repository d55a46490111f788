#!/usr/bin/env node
// `npm run chat`: a terminal demo against a running cluster (`npm start`).
// alice connects to gateway :3000 and bob to :3001; alice creates a group with bob.
//
//   interactive (a terminal): type as alice; "/bob TEXT" speaks as bob; "/quit" or Ctrl-D ends.
//   --demo, or stdin not a terminal: sends a few scripted messages, shows acks and
//   deliveries, and exits 0 when every message reached both users (1 otherwise).
// Options: --a=URL --b=URL (gateways, default http://localhost:3000 and :3001).
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { bold, cyan, dim, green, red, yellow } from "./lib.mjs";
import { devToken } from "./token.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const DEMO = args.includes("--demo") || !process.stdin.isTTY;
const GATEWAY_A = option("a", "http://localhost:3000");
const GATEWAY_B = option("b", "http://localhost:3001");
const TIMEOUT_MS = 10_000;

const who = { alice: cyan("alice"), bob: yellow("bob  ") };
const print = (text) => process.stdout.write(`${text}\n`);

async function connectAs(userId, name, url) {
  const { io } = await import("socket.io-client");
  const token = await devToken(userId, name);
  const socket = io(url, { auth: { token }, transports: ["websocket"], reconnectionAttempts: 5 });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${userId}: no connection to ${url} within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("connect_error", (error) => {
      clearTimeout(timer);
      const code = error.data?.code ? ` (${error.data.code})` : "";
      reject(new Error(`${userId}: could not connect to ${url}: ${error.message}${code}`));
    });
  });
  print(`${who[userId]} ${dim(`connected to ${url} as socket ${socket.id}`)}`);
  return { socket, token, userId };
}

async function createGroup(alice, url) {
  const res = await fetch(`${url}/v1/conversations`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
    body: JSON.stringify({ kind: "group", memberIds: ["bob"], title: "demo" }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok || !body.conversation?.id) {
    throw new Error(`POST /v1/conversations answered ${res.status}: ${JSON.stringify(body.error ?? body)}`);
  }
  return body.conversation;
}

/** Prints what a user receives, and resolves waiters by message id. */
function listen(user, received) {
  const seen = new Set();
  user.socket.on("message:new", (message) => {
    if (seen.has(message.id)) return; // the same message can arrive twice (dedupe by id)
    seen.add(message.id);
    if (received.has(message.id)) received.get(message.id).add(user.userId);
    else received.set(message.id, new Set([user.userId]));
    print(`${who[user.userId]} ⇐ ${bold(`#${message.seq}`)} ${message.senderName ?? message.senderId}: ${message.body}`);
  });
  user.socket.on("conversation:updated", (c) => print(`${who[user.userId]} ${dim(`⇐ conversation:updated "${c.title ?? c.id}"`)}`));
  user.socket.on("disconnect", (reason) => print(`${who[user.userId]} ${red(`disconnected: ${reason}`)}`));
  user.socket.on("session:expired", () => print(`${who[user.userId]} ${red("session expired")}`));
}

async function send(user, conversationId, body) {
  const started = Date.now();
  const payload = { conversationId, clientMessageId: randomUUID(), body };
  try {
    const ack = await user.socket.timeout(TIMEOUT_MS).emitWithAck("message:send", payload);
    const ms = Date.now() - started;
    if (ack?.ok) {
      print(`${who[user.userId]} ${green("✓ ack")} ${bold(`#${ack.message.seq}`)} ${dim(`${ack.message.id} in ${ms} ms${ack.duplicate ? " (duplicate)" : ""}`)}`);
      return ack.message;
    }
    print(`${who[user.userId]} ${red(`✗ refused: ${ack?.error?.code} ${ack?.error?.message ?? ""}`)}`);
  } catch (error) {
    print(`${who[user.userId]} ${red(`✗ no ack within ${TIMEOUT_MS / 1000} s (${error.message})`)}`);
  }
  return undefined;
}

async function demo(alice, bob, conversationId, received) {
  const script = [
    [alice, "hi bob, this went through gateway :3000"],
    [bob, "hi alice, and this one through :3001"],
    [alice, "every message has a seq: no gaps, no repeats"],
    [alice, "bye!"],
  ];
  const sent = [];
  for (const [user, text] of script) {
    const message = await send(user, conversationId, text);
    if (message) sent.push(message);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const deadline = Date.now() + TIMEOUT_MS;
  const complete = () => sent.every((m) => received.get(m.id)?.size === 2);
  while (!complete() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const delivered = sent.filter((m) => received.get(m.id)?.size === 2).length;
  const ok = sent.length === script.length && delivered === sent.length;
  print("");
  print(ok ? green(`✓ ${sent.length} messages acked, each delivered to alice and bob`) : red(`✗ ${sent.length}/${script.length} acked, ${delivered} delivered to both`));
  return ok;
}

async function interactive(alice, bob, conversationId) {
  print(dim('type a message as alice; "/bob TEXT" speaks as bob; "/quit" or Ctrl-D ends'));
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "" });
  for await (const line of rl) {
    const text = line.trim();
    if (!text) continue;
    if (text === "/quit") break;
    if (text.startsWith("/bob ")) await send(bob, conversationId, text.slice(5));
    else await send(alice, conversationId, text);
  }
  rl.close();
  return true;
}

async function main() {
  const alice = await connectAs("alice", "Alice", GATEWAY_A);
  const bob = await connectAs("bob", "Bob", GATEWAY_B);
  const received = new Map();
  listen(alice, received);
  listen(bob, received);
  const conversation = await createGroup(alice, GATEWAY_A);
  print(`${who.alice} created group "${conversation.title ?? "demo"}" ${dim(conversation.id)} with bob`);
  // Membership reaches live sockets cluster-wide asynchronously; give it a moment.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const ok = DEMO ? await demo(alice, bob, conversation.id, received) : await interactive(alice, bob, conversation.id);
  for (const user of [alice, bob]) {
    user.socket.off("disconnect");
    user.socket.close();
  }
  process.exit(ok ? 0 : 1);
}

main().catch((error) => {
  process.stderr.write(`${red("✗")} ${error.message}\n  ${dim("is the cluster running? start it with: npm start")}\n`);
  process.exit(1);
});
