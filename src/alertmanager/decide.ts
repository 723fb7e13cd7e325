import type { AlertmanagerConfig } from "../config/schema.ts";
import { agentOfSessionKey, mainSessionKey } from "../shared/session-key.ts";
import type { Priority } from "../wake/message.ts";
import type { WakeTarget } from "../wake/route.ts";
import type { WebhookAlert, WebhookPayload } from "./payload.ts";

/** What the receiver remembers of one alert: enough to tell a re-send from a change. */
export interface AlertState {
  status: "firing" | "resolved";
  startsAt: string;
}

/** What the receiver remembers of one alert group (keyed by Alertmanager's groupKey). */
export interface GroupRecord {
  groupKey: string;
  receiver: string;
  /** The session woken for this group's current firing episode; resolved notes go only here. */
  sessionKey: string | undefined;
  /** The priority that episode was woken with (resolvedPriority "same"). */
  priority: Priority | undefined;
  alerts: Record<string, AlertState>;
  updatedAt: number;
  notifiedAt: number | undefined;
}

export type Decision =
  | { kind: "wake"; target: WakeTarget; priority: Priority; newlyFiring: WebhookAlert[]; newlyResolved: WebhookAlert[]; next: Record<string, AlertState> }
  | { kind: "quiet"; reason: string; next: Record<string, AlertState> };

const RANK: Record<Priority, number> = { low: 0, normal: 1, urgent: 2 };
const PRIORITY_VALUES = new Set<string>(["urgent", "normal", "low"]);

/** The per-alert override label wins; else the severity map; else defaultPriority. */
export function alertPriority(alert: WebhookAlert, cfg: AlertmanagerConfig): Priority {
  const override = alert.labels[cfg.priorityLabel]?.toLowerCase();
  if (override && PRIORITY_VALUES.has(override)) return override as Priority;
  const severity = alert.labels[cfg.severityLabel]?.toLowerCase();
  return (severity !== undefined ? cfg.priorities[severity] : undefined) ?? cfg.defaultPriority;
}

export function highest(priorities: Priority[]): Priority {
  return priorities.reduce<Priority>((best, p) => (RANK[p] > RANK[best] ? p : best), "low");
}

/** First route whose receiver and labels (all listed, against commonLabels) match; else alertmanager.agent, else defaultAgent. */
export function routeGroup(payload: Pick<WebhookPayload, "receiver" | "commonLabels">, cfg: AlertmanagerConfig, defaultAgent: string): WakeTarget {
  for (const route of cfg.routes) {
    if (route.receiver !== undefined && route.receiver !== payload.receiver) continue;
    if (route.labels && !Object.entries(route.labels).every(([k, v]) => payload.commonLabels[k] === v)) continue;
    if (route.sessionKey) return { agentId: agentOfSessionKey(route.sessionKey) ?? defaultAgent, sessionKey: route.sessionKey };
    if (route.agent) return { agentId: route.agent, sessionKey: mainSessionKey(route.agent) };
  }
  const agentId = cfg.agent ?? defaultAgent;
  return { agentId, sessionKey: mainSessionKey(agentId) };
}

/**
 * Compares a notification with what was last seen of its group. Wakes for alerts that newly fire
 * (new fingerprint, or a new startsAt: it fired again) and for alerts that resolved after a session
 * was woken for them; a re-send of the same state (repeat_interval, retries, an Alertmanager restart)
 * and resolved alerts no session saw firing stay quiet.
 */
export function decide(payload: WebhookPayload, prev: GroupRecord | undefined, cfg: AlertmanagerConfig, defaultAgent: string): Decision {
  const before = prev?.alerts ?? {};
  const next: Record<string, AlertState> = { ...before };
  const newlyFiring: WebhookAlert[] = [];
  const newlyResolved: WebhookAlert[] = [];
  for (const alert of payload.alerts) {
    const seen = before[alert.fingerprint];
    if (alert.status === "firing") {
      if (seen?.status !== "firing" || seen.startsAt !== alert.startsAt) newlyFiring.push(alert);
    } else if (seen?.status === "firing") newlyResolved.push(alert);
    next[alert.fingerprint] = { status: alert.status, startsAt: alert.startsAt };
  }
  const stillFiring = Object.values(before).some((a) => a.status === "firing");
  if (newlyFiring.length > 0) {
    // While an episode is open, new alerts of the group go to the session already handling it.
    const target =
      stillFiring && prev?.sessionKey
        ? { agentId: agentOfSessionKey(prev.sessionKey) ?? defaultAgent, sessionKey: prev.sessionKey }
        : routeGroup(payload, cfg, defaultAgent);
    return { kind: "wake", target, priority: highest(newlyFiring.map((a) => alertPriority(a, cfg))), newlyFiring, newlyResolved, next };
  }
  if (newlyResolved.length > 0 && prev?.sessionKey) {
    const priority = cfg.resolvedPriority === "same" ? (prev.priority ?? cfg.defaultPriority) : cfg.resolvedPriority;
    return { kind: "wake", target: { agentId: agentOfSessionKey(prev.sessionKey) ?? defaultAgent, sessionKey: prev.sessionKey }, priority, newlyFiring, newlyResolved, next };
  }
  if (payload.alerts.every((a) => a.status === "resolved") && !payload.alerts.some((a) => before[a.fingerprint])) {
    return { kind: "quiet", reason: "resolved alerts that no session was woken for", next };
  }
  return { kind: "quiet", reason: "unchanged since the last notification", next };
}
