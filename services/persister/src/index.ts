export { buildPersister, type Persister, type PersisterDeps } from "./app.js";
export { PersisterEnv, loadConfig, type PersisterConfig } from "./env.js";
