// The fault suite's harness (issue 17): the cluster as processes, load through the SDK, verification.
export { startFaultCluster, FAULT_SECRET, type FaultCluster, type FaultClusterOptions, type Pod } from "./fault-cluster.js";
export { startLoad, type Load, type LoadClient, type LoadOptions, type SendRecord } from "./load.js";
export { verifyScenario, type Verdict, type VerifyOptions } from "./verify.js";
export { startNginx, nginxConfig, type LoadBalancer } from "./nginx.js";
export { sampleProcess, type ProcessSample } from "./process-stats.js";
export { runScenario, sleep, type ScenarioContext, type ScenarioOptions } from "./scenario.js";
export { startHerd, type HerdFigures } from "./herd.js";
export { connectSocket, podMetric } from "./pod-probes.js";
