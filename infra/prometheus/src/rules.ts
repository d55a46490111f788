import { dataLifecycle } from "./alerts/data-lifecycle.js";
import { dependencyDown } from "./alerts/dependency-down.js";
import { handshakeFailures } from "./alerts/handshake-failures.js";
import { heartbeatLoss } from "./alerts/heartbeat-loss.js";
import { jobsFailing } from "./alerts/jobs-failing.js";
import { metricsAbsent } from "./alerts/metrics-absent.js";
import { persisterLag } from "./alerts/persister-lag.js";
import { podsNotReady } from "./alerts/pods-not-ready.js";
import { queueGrowing } from "./alerts/queue-growing.js";
import { jwksUnreachable } from "./alerts/jwks-unreachable.js";
import { redisMemoryHigh } from "./alerts/redis-memory-high.js";
import { RuleGroup } from "./rule.js";
import { DEFAULT_RUNBOOK_BASE_URL, runbookUrl } from "./runbook.js";
import { sendSloGroups } from "./send-slos.js";

export interface RuleOptions {
  /** Where docs/runbooks/ is served; every alert's runbook_url is `<base>/<alert name>.md`. */
  runbookBaseUrl?: string;
}

/** Every rule group, in the order of the rule file; parsed so a mistake fails the generator. */
export function parleyRuleGroups({ runbookBaseUrl = DEFAULT_RUNBOOK_BASE_URL }: RuleOptions = {}): RuleGroup[] {
  const groups = [...sendSloGroups, persisterLag, queueGrowing, jobsFailing, handshakeFailures, dependencyDown, podsNotReady, heartbeatLoss, metricsAbsent, redisMemoryHigh, jwksUnreachable, dataLifecycle];
  return groups.map((g) =>
    RuleGroup.parse({
      ...g,
      rules: g.rules.map((r) => ("alert" in r ? { ...r, annotations: { ...r.annotations, runbook_url: runbookUrl(r.alert, runbookBaseUrl) } } : r)),
    }),
  );
}

/** The alert names, each once (several rules may share one, e.g. per severity). */
export function alertNames(groups: RuleGroup[] = parleyRuleGroups()): string[] {
  return [...new Set(groups.flatMap((g) => g.rules.flatMap((r) => ("alert" in r ? [r.alert] : []))))];
}
