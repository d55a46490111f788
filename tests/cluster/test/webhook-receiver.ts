import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  rawBody: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test helper: callers assert the shape
  body: any;
  at: number;
}

/**
 * A real HTTP receiver for webhook tests. `respond` picks each request's status from the
 * requests already received for the same recipient (so a test can script "500, 500, 200").
 */
export async function startWebhookReceiver(respond: (req: ReceivedRequest, earlier: ReceivedRequest[]) => number = () => 200) {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (raw += chunk));
    req.on("end", () => {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const received: ReceivedRequest = { headers: req.headers, rawBody: raw, body, at: Date.now() };
      const earlier = requests.filter((r) => r.body?.recipientId === received.body?.recipientId);
      requests.push(received);
      res.writeHead(respond(received, earlier), { "content-type": "text/plain" }).end("thanks");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/parley`,
    requests,
    for: (recipientId: string) => requests.filter((r) => r.body?.recipientId === recipientId),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
