/** Node-only adapters of `@parley/client` (they import node:fs; keep them out of browser bundles). */
export { fileStorage } from "./file-storage.js";
