/** The sum of a metric's samples on a gateway's /metrics (any labels), or 0 when the gateway does not answer (stopped). */
export async function gatewaySum(gateway: string, name: string): Promise<number> {
  const text = await fetch(`${gateway}/metrics`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.text(), () => "");
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

/** Sockets connected to the whole cluster: `sum(parley_gateway_connected_sockets)`. */
export async function connectedSockets(gateways: readonly string[]): Promise<number> {
  const counts = await Promise.all(gateways.map((g) => gatewaySum(g, "parley_gateway_connected_sockets")));
  return counts.reduce((a, b) => a + b, 0);
}
