export { buildPersister, type Persister, type PersisterDeps } from "./app.js";
export { PersisterEnv, loadEnv } from "./env.js";
