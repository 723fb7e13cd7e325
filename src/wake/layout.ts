import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, type ConsumerConfig, type StreamConfig } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../config/schema.ts";
import { replicationFields } from "../connection/replication.ts";
import { isAgentId } from "../shared/session-key.ts";
import { subjectMatches, subjectsOverlap } from "../shared/subjects.ts";

/**
 * Which subjects a gateway takes, and how. The one home of the inbox layout: the gateway, `openclaw nats
 * setup` and `openclaw nats doctor` all build the stream and consumers from here.
 *
 * - `agent.*.…` subjects are expanded per hosted agent (`agent.ops.inbox`), so a gateway only takes
 *   messages for the agents it hosts and a request for an agent nobody hosts gets NATS's "no responders".
 * - Every gateway subscribes in one queue group (core) or binds one durable consumer per agent
 *   (JetStream): gateways hosting the same agent share its messages, each handled once.
 * - Broadcast subjects are subscribed without a queue group: every gateway injects into each agent it hosts.
 */
export interface WakeLayout {
  /** Agent-bound subjects per hosted agent, e.g. ops → ["agent.ops.inbox"]. */
  byAgent: Map<string, string[]>;
  /** Configured subjects that name no agent (`alerts.>`); routed by `to` / defaultAgent. */
  shared: string[];
  /** Broadcast patterns that some configured subject covers (subscribed by every gateway). */
  broadcast: string[];
  /** Configured `agent.<id>.…` subjects for agents this gateway does not host (skipped). */
  notHosted: string[];
}

/** True when the subject is a broadcast (matches a broadcastSubjects pattern). */
export function isBroadcastSubject(cfg: Pick<NatsPluginConfig, "broadcastSubjects">, subject: string): boolean {
  return cfg.broadcastSubjects.some((p) => subjectMatches(p, subject));
}

/**
 * Split the configured subjects for the agents this gateway hosts. `hosted` undefined means "not known"
 * (a runtime without a host config): every subject is then taken as it is, as one shared consumer.
 */
export function wakeLayout(cfg: Pick<NatsPluginConfig, "subjects" | "broadcastSubjects">, hosted: readonly string[] | undefined): WakeLayout {
  const byAgent = new Map<string, string[]>();
  const shared: string[] = [];
  const notHosted: string[] = [];
  const add = (agentId: string, subject: string): void => {
    const list = byAgent.get(agentId) ?? [];
    if (!list.includes(subject)) list.push(subject);
    byAgent.set(agentId, list);
  };
  for (const subject of cfg.subjects) {
    // A subject that only carries broadcasts is not a work subject: no queue group, no work-queue stream.
    if (cfg.broadcastSubjects.some((p) => subjectMatches(p, subject))) continue;
    const tokens = subject.split(".");
    if (hosted === undefined || tokens[0] !== "agent" || tokens.length < 2) {
      shared.push(subject);
      continue;
    }
    const agentToken = tokens[1]!;
    if (agentToken === "*" || agentToken === ">") {
      const rest = agentToken === ">" ? [">"] : tokens.slice(2);
      for (const id of hosted) add(id, ["agent", id, ...rest].join("."));
    } else if (isAgentId(agentToken) && hosted.includes(agentToken)) add(agentToken, subject);
    else if (isAgentId(agentToken)) notHosted.push(subject);
    else shared.push(subject);
  }
  const broadcast = cfg.broadcastSubjects.filter((p) => cfg.subjects.some((s) => subjectsOverlap(p, s)));
  return { byAgent, shared, broadcast, notHosted };
}

/** The durable inbox's work-queue stream: every configured subject except pure broadcast ones. */
export function inboxStreamConfig(cfg: Pick<NatsPluginConfig, "subjects" | "broadcastSubjects" | "inbox">): Partial<StreamConfig> & { name: string; subjects: string[] } {
  return {
    name: cfg.inbox.streamName,
    subjects: cfg.subjects.filter((s) => !cfg.broadcastSubjects.some((p) => subjectMatches(p, s))),
    storage: StorageType.File,
    retention: RetentionPolicy.Workqueue,
    max_age: nanos(cfg.inbox.maxAgeHours * 3_600_000),
    // Publishers that set Nats-Msg-Id get exactly-once storage within this window; nothing else is deduplicated.
    duplicate_window: nanos(INBOX_DUPLICATE_WINDOW_MS),
    ...replicationFields(cfg.inbox),
  };
}

export const INBOX_DUPLICATE_WINDOW_MS = 120_000;

/** One durable consumer of the inbox: per hosted agent `<consumerName>-<agentId>`, and `<consumerName>` for shared subjects. */
export interface InboxConsumer {
  name: string;
  /** The agent whose subjects it takes; undefined for the shared consumer. */
  agentId?: string;
  filters: string[];
}

export function inboxConsumers(cfg: Pick<NatsPluginConfig, "subjects" | "broadcastSubjects" | "inbox">, layout: WakeLayout): InboxConsumer[] {
  const out: InboxConsumer[] = [];
  for (const [agentId, filters] of layout.byAgent) out.push({ name: `${cfg.inbox.consumerName}-${agentId}`, agentId, filters });
  if (layout.shared.length > 0) out.push({ name: cfg.inbox.consumerName, filters: layout.shared });
  return out;
}

export function inboxConsumerConfig(cfg: Pick<NatsPluginConfig, "inbox">, consumer: InboxConsumer, streamSubjects: string[]): Partial<ConsumerConfig> & { durable_name: string } {
  const { ackWaitMs, maxDeliver, maxConcurrent } = cfg.inbox;
  const whole = consumer.filters.length === streamSubjects.length && consumer.filters.every((f) => streamSubjects.includes(f));
  return {
    durable_name: consumer.name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    max_deliver: maxDeliver,
    // Several gateways pull from one consumer; each holds at most maxConcurrent, this bounds them all.
    max_ack_pending: Math.max(1000, maxConcurrent * 8),
    // One filter as filter_subject: servers before 2.10 know no filter_subjects.
    ...(whole ? {} : consumer.filters.length === 1 ? { filter_subject: consumer.filters[0] } : { filter_subjects: consumer.filters }),
  };
}

/** The inbox consumers a gateway with this config and these hosted agents uses (setup and doctor build the same). */
export function expectedInboxConsumers(cfg: Pick<NatsPluginConfig, "subjects" | "broadcastSubjects" | "inbox">, hosted: readonly string[] | undefined): InboxConsumer[] {
  return inboxConsumers(cfg, wakeLayout(cfg, hosted));
}
