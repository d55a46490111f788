import { z } from "zod";

/** `/config.json` of the web server. */
const WebConfig = z.object({ gateways: z.array(z.string()) });

/**
 * Where this tab connects: `?gateway=URL` when given (a test puts two users on two gateways
 * that way), else one of the gateways the web server lists in /config.json, picked at random
 * per tab as a load balancer would, else port 3000 of the page's host.
 */
export async function pickGateway(location: Location, fetchConfig: () => Promise<unknown> = defaultConfig): Promise<string> {
  const asked = new URLSearchParams(location.search).get("gateway");
  if (asked) return new URL(asked).origin;
  const config = WebConfig.safeParse(await fetchConfig().catch(() => undefined));
  const gateways = config.success ? config.data.gateways : [];
  const picked = gateways[Math.floor(Math.random() * gateways.length)];
  return picked ?? `${location.protocol}//${location.hostname}:3000`;
}

async function defaultConfig(): Promise<unknown> {
  const res = await fetch("/config.json", { cache: "no-store" });
  return res.ok ? res.json() : undefined;
}
