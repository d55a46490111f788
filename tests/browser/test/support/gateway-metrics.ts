/** One sample of a gateway's /metrics (no labels), or 0 when the gateway does not answer (stopped). */
export async function gatewayGauge(gateway: string, name: string): Promise<number> {
  const text = await fetch(`${gateway}/metrics`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.text(), () => "");
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

/** Sockets connected to the whole cluster: `sum(parley_gateway_connected_sockets)`. */
export async function connectedSockets(gateways: readonly string[]): Promise<number> {
  const counts = await Promise.all(gateways.map((g) => gatewayGauge(g, "parley_gateway_connected_sockets")));
  return counts.reduce((a, b) => a + b, 0);
}
