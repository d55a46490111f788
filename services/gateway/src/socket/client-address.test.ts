import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { clientAddressResolver } from "./client-address.js";

const request = (remoteAddress: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress }, connection: { remoteAddress }, headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} }) as unknown as IncomingMessage;

describe("client address", () => {
  it("ignores X-Forwarded-For when no proxy is trusted: any client could write one", () => {
    expect(clientAddressResolver([])(request("198.51.100.1", "203.0.113.7"))).toBe("198.51.100.1");
  });

  it("takes the nearest untrusted forwarded address from a trusted proxy, and nothing a client prepended", () => {
    const resolve = clientAddressResolver(["10.0.0.0/8"]);
    expect(resolve(request("10.1.2.3", "203.0.113.7"))).toBe("203.0.113.7");
    // A client that sent its own X-Forwarded-For: the proxy appended the real address, which wins.
    expect(resolve(request("10.1.2.3", "1.2.3.4, 203.0.113.7"))).toBe("203.0.113.7");
    // Not from the trusted range: its header counts for nothing.
    expect(resolve(request("198.51.100.1", "203.0.113.7"))).toBe("198.51.100.1");
  });
});
