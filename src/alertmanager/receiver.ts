import { createHash } from "node:crypto";
import type { AlertmanagerConfig } from "../config/schema.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { processTraces } from "../trace/sessions.ts";
import type { Trace } from "../trace/context.ts";
import type { Priority } from "../wake/message.ts";
import type { WakeTarget } from "../wake/route.ts";
import { decide, type GroupRecord } from "./decide.ts";
import type { WebhookAlert, WebhookPayload } from "./payload.ts";
import type { AlertStore, PendingWake } from "./state.ts";
import { formatAlertWake } from "./text.ts";

/** What the receiver hands to the wake path: one message for one session. */
export interface AlertHandoff {
  target: WakeTarget;
  from: string;
  body: string;
  priority: Priority;
  /** Stable for one group state change; a retried hand-off carries the same id. */
  id: string;
}

/** Hands one wake to the agent; resolves once the wake path has taken it, rejects if it could not. */
export type Handoff = (wake: AlertHandoff) => Promise<void>;

export type ReceiveResult =
  | { ok: true; woke: true; sessionKey: string; priority: Priority; firing: number; resolved: number; handedOver: boolean }
  | { ok: true; woke: false; reason: string; firing: number; resolved: number };

/** One notification as the dashboard shows it. */
export interface RecentNotification {
  at: number;
  receiver: string;
  status: "firing" | "resolved";
  alertnames: string[];
  firing: number;
  resolved: number;
  outcome: string;
  sessionKey?: string;
  priority?: Priority;
}

export interface ReceiverOptions {
  cfg: AlertmanagerConfig;
  defaultAgent: string;
  maxWakeBytes: number;
  /** Opened on first use (a registration that only validates config never touches the file). */
  store: () => AlertStore;
  handoff: Handoff;
  log: Logger;
}

const FROM = "alertmanager";
const RECENT_MAX = 20;

/** The key of one state change: the same group, the same alerts newly firing / newly resolved. */
function changeKey(groupKey: string, firing: WebhookAlert[], resolved: WebhookAlert[]): string {
  const f = firing.map((a) => `${a.fingerprint}@${a.startsAt}`).sort();
  const r = resolved.map((a) => a.fingerprint).sort();
  return createHash("sha256").update(`${groupKey}\n${f.join(",")}\n${r.join(",")}`).digest("hex").slice(0, 32);
}

/**
 * Turns Alertmanager notifications into wakes: one per group state change, deduplicated against the
 * group's last state (kept in the AlertStore), accepted durably before the caller answers 2xx, and
 * handed to the wake path from an outbox that is retried until it succeeds.
 */
export class AlertReceiver {
  readonly counts = { notifications: 0, wakes: 0, quiet: 0, rejected: 0, handoffFailures: 0 };
  readonly recent: RecentNotification[] = [];
  private readonly opts: ReceiverOptions;
  private readonly inFlight = new Set<number>();

  constructor(opts: ReceiverOptions) {
    this.opts = opts;
  }

  /** Throws only when the state could not be written (the caller answers 5xx so Alertmanager retries). */
  async receive(payload: WebhookPayload, trace?: Trace): Promise<ReceiveResult> {
    const { cfg, defaultAgent } = this.opts;
    const store = this.opts.store();
    this.counts.notifications++;
    const prev = store.group(payload.groupKey);
    const d = decide(payload, prev, cfg, defaultAgent);
    const firing = payload.alerts.filter((a) => a.status === "firing").length;
    const resolved = payload.alerts.length - firing;
    const now = Date.now();
    const note = (outcome: string, target?: { sessionKey: string; priority: Priority }): void => {
      this.recent.unshift({ at: now, receiver: payload.receiver, status: payload.status, alertnames: [...new Set(payload.alerts.map((a) => a.labels.alertname ?? "?"))], firing, resolved, outcome, ...target });
      if (this.recent.length > RECENT_MAX) this.recent.pop();
    };
    if (d.kind === "quiet") {
      if (prev) store.touch(payload.groupKey, d.next);
      else store.commit({ groupKey: payload.groupKey, receiver: payload.receiver, sessionKey: undefined, priority: undefined, alerts: d.next, updatedAt: now, notifiedAt: undefined });
      this.counts.quiet++;
      note(d.reason);
      return { ok: true, woke: false, reason: d.reason, firing, resolved };
    }
    const text = formatAlertWake({ payload, newlyFiring: d.newlyFiring, newlyResolved: d.newlyResolved, maxAlerts: cfg.maxAlertsInText, severityLabel: cfg.severityLabel, maxBytes: this.opts.maxWakeBytes });
    const record: GroupRecord = {
      groupKey: payload.groupKey,
      receiver: payload.receiver,
      sessionKey: d.target.sessionKey,
      // A resolved note keeps the episode's priority; a new firing sets it.
      priority: d.newlyFiring.length > 0 ? d.priority : (prev?.priority ?? d.priority),
      alerts: d.next,
      updatedAt: now,
      notifiedAt: now,
    };
    const key = changeKey(payload.groupKey, d.newlyFiring, d.newlyResolved);
    const pending = store.commit(record, { key, groupKey: payload.groupKey, agentId: d.target.agentId, sessionKey: d.target.sessionKey, priority: d.priority, text });
    this.counts.wakes++;
    note(d.newlyFiring.length > 0 ? `woke (${d.newlyFiring.length} new firing)` : `resolved note (${d.newlyResolved.length})`, { sessionKey: d.target.sessionKey, priority: d.priority });
    this.opts.log.info(`nats: alertmanager group ${payload.receiver}/${d.newlyFiring[0]?.labels.alertname ?? d.newlyResolved[0]?.labels.alertname ?? "?"} → ${d.priority} wake of ${d.target.sessionKey}`);
    if (trace) processTraces().set(d.target.sessionKey, trace); // the turn the wake starts records under the webhook's trace
    const handedOver = pending ? await this.deliver(pending) : true;
    return { ok: true, woke: true, sessionKey: d.target.sessionKey, priority: d.priority, firing, resolved, handedOver };
  }

  /** Hands over every accepted wake still in the outbox (after a crash, or a failed hand-off). */
  async drain(): Promise<number> {
    let handed = 0;
    for (const p of this.opts.store().pending()) if (await this.deliver(p)) handed++;
    return handed;
  }

  /** Counts for status and the dashboard. */
  stats(): { groups: number; firingGroups: number; pendingWakes: number } {
    return this.opts.store().stats();
  }

  private async deliver(p: PendingWake): Promise<boolean> {
    if (this.inFlight.has(p.id)) return false;
    this.inFlight.add(p.id);
    try {
      await this.opts.handoff({ target: { agentId: p.agentId, sessionKey: p.sessionKey }, from: FROM, body: p.text, priority: p.priority, id: `alertmanager:${p.key}` });
      this.opts.store().handed(p.id);
      return true;
    } catch (err) {
      this.counts.handoffFailures++;
      this.opts.store().failed(p.id);
      this.opts.log.warn(`nats: alertmanager wake for ${p.sessionKey} not handed over yet (attempt ${p.attempts + 1}), will retry: ${errorMessage(err)}`);
      return false;
    } finally {
      this.inFlight.delete(p.id);
    }
  }
}
