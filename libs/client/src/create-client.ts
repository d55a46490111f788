import type { ClientOptions, ParleyClient } from "./types.js";

/** Creates a client and starts connecting. */
export function createClient(_options: ClientOptions): ParleyClient {
  throw new Error("@parley/client: not implemented yet");
}
