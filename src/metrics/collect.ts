import type { LinkStatus } from "../connection/link.ts";
import type { EventStoreStatus } from "../events/store.ts";
import type { BucketCounts } from "../shared/reservoir.ts";
import { REJECT_KINDS, type RejectKind } from "../wake/dispatcher.ts";
import type { InboxCounts } from "../wake/durable-inbox.ts";
import { TRUST_REFUSALS, type TrustRefusal } from "../trust/trust.ts";
import { PROMPT_OUTCOMES, type PromptOutcome } from "../agent-protocol/prompt.ts";
import { RELAY_OUTCOMES, type RelayOutcome } from "../relay/relay.ts";
import type { Family } from "./exposition.ts";

/** The durable inbox consumer as the server reports it (undefined when the server did not answer). */
export interface ConsumerFigures {
  pending: number;
  ackPending: number;
  redelivered: number;
}

/**
 * What a scrape reads: the figures the plugin keeps for `nats.status` and the dashboard, read at scrape
 * time. Each optional part is absent when that capability is off (its metrics are then not written).
 */
export interface MetricsSources {
  link: () => LinkStatus;
  wake: () => {
    counts: { received: number; injected: number; rejected: number; relayed: number; hopLimited: number };
    rejectedBy: Readonly<Record<RejectKind, number>>;
    /** arrival → handed to the host */
    handoffLatency: BucketCounts;
    deadLetters: { published: number; failed: number };
  };
  inbox?: () => Promise<{ counts: InboxCounts | undefined; consumer: ConsumerFigures | undefined }>;
  events?: () => Promise<{ status: EventStoreStatus; recorded: number; publishLatency: BucketCounts }>;
  memory?: () => { rows: number | undefined; newest: number | undefined; recallLatency: BucketCounts };
  agentProtocol?: () => { outcomes: Readonly<Record<PromptOutcome, number>>; latency: BucketCounts; activeTurns: number };
  relay?: () => Readonly<Record<RelayOutcome, number>>;
  trust: () => Readonly<Record<TrustRefusal, number>>;
}

const gauge = (name: string, help: string, value: number | undefined): Family => ({ name, help, type: "gauge", samples: value === undefined ? [] : [{ value }] });
const counter = (name: string, help: string, value: number): Family => ({ name, help, type: "counter", samples: [{ value }] });
const histogram = (name: string, help: string, h: BucketCounts): Family => ({ name, help, type: "histogram", samples: [{ histogram: h }] });

/** One counter family with one sample per value of a fixed enum (every value written, zeros included). */
function byLabel<K extends string>(name: string, help: string, label: string, values: readonly K[], counts: Readonly<Record<K, number>>): Family {
  return { name, help, type: "counter", labels: { [label]: values }, samples: values.map((v) => ({ labels: { [label]: v }, value: counts[v] ?? 0 })) };
}

const P = "openclaw_nats_";

export async function collectMetrics(src: MetricsSources): Promise<Family[]> {
  const out: Family[] = [];
  const l = src.link();
  out.push(
    gauge(`${P}connected`, "1 while the plugin's NATS connection is up, else 0", l.connected ? 1 : 0),
    counter(`${P}connects_total`, "NATS connections established (first connect included)", l.connects),
    counter(`${P}disconnects_total`, "NATS disconnects seen", l.disconnects),
    counter(`${P}reconnects_total`, "NATS reconnects completed", l.reconnects),
  );
  const w = src.wake();
  out.push(
    counter(`${P}wakes_received_total`, "wake messages received (core subscription and durable inbox)", w.counts.received),
    counter(`${P}wakes_handed_total`, "wake messages handed to the host (committed for the next turn, or queued as a system event)", w.counts.injected),
    counter(`${P}wakes_relayed_total`, "wake messages with deliver/expectReply handed to the relay", w.counts.relayed),
    byLabel(`${P}wakes_rejected_total`, "wake messages refused, by reason", "reason", REJECT_KINDS, w.rejectedBy),
    counter(`${P}dead_letters_total`, "rejected messages copied to the dead-letter subject", w.deadLetters.published),
    counter(`${P}dead_letter_failures_total`, "dead letters that could not be published (not connected, publish error)", w.deadLetters.failed),
    histogram(`${P}wake_handoff_seconds`, "wake message arrival at the gateway → handed to the host", w.handoffLatency),
  );
  if (src.inbox) {
    const { counts, consumer } = await src.inbox();
    out.push(
      gauge(`${P}inbox_pending_messages`, "durable inbox messages not yet delivered to this gateway (consumer num_pending)", consumer?.pending),
      gauge(`${P}inbox_ack_pending_messages`, "durable inbox messages delivered and not yet acked", consumer?.ackPending),
      gauge(`${P}inbox_redelivered_messages`, "durable inbox messages delivered more than once and not yet acked (consumer num_redelivered)", consumer?.redelivered),
      counter(`${P}inbox_redeliveries_skipped_total`, "redeliveries of messages already handed to the host: acked, not handed again", counts?.redeliveriesSkipped ?? 0),
      counter(`${P}inbox_dead_lettered_total`, "durable inbox messages dead-lettered (invalid, or out of deliveries)", counts?.deadLettered ?? 0),
    );
  }
  if (src.events) {
    const { status: e, recorded, publishLatency } = await src.events();
    out.push(
      counter(`${P}events_recorded_total`, "events written to the local spool", recorded),
      counter(`${P}events_published_total`, "events acked by JetStream as new", e.published),
      counter(`${P}events_duplicates_total`, "event publishes JetStream acked as duplicates", e.duplicates),
      counter(`${P}events_publish_failures_total`, "failed event publish attempts (each is retried)", e.failures),
      counter(`${P}events_dropped_total`, "events lost on purpose: spool full, too large, record error", e.dropped),
      gauge(`${P}events_spooled`, "events in the local spool not yet acked by JetStream", e.spoolDepth),
      gauge(`${P}events_spool_bytes`, "bytes of events waiting in the spool", e.spoolBytes),
      gauge(`${P}events_spool_max_bytes`, "the spool's size limit (events.spool.maxBytes)", e.spoolMaxBytes),
      gauge(`${P}events_spool_oldest_timestamp_seconds`, "when the oldest unsent event was recorded (unix seconds); absent when the spool is empty", e.spoolOldestAt === undefined ? undefined : e.spoolOldestAt / 1000),
      histogram(`${P}events_publish_seconds`, "event publish → JetStream ack", publishLatency),
    );
  }
  if (src.memory) {
    const m = src.memory();
    out.push(
      gauge(`${P}memory_rows`, "rows in the memory projection", m.rows),
      gauge(`${P}memory_newest_row_timestamp_seconds`, "time of the newest projected event (unix seconds): time() minus this is the projection's lag", m.newest === undefined ? undefined : m.newest / 1000),
      histogram(`${P}memory_recall_seconds`, "the memory search run before a turn (recall)", m.recallLatency),
    );
  }
  if (src.agentProtocol) {
    const a = src.agentProtocol();
    out.push(
      byLabel(`${P}agent_prompts_total`, "agent-protocol prompts, by outcome", "outcome", PROMPT_OUTCOMES, a.outcomes),
      histogram(`${P}agent_prompt_seconds`, "agent-protocol prompt arrival → last frame sent", a.latency),
      gauge(`${P}agent_turns_active`, "agent-protocol turns running now", a.activeTurns),
    );
  }
  if (src.relay) out.push(byLabel(`${P}relay_requests_total`, "relay requests (notify and request/reply), by outcome", "outcome", RELAY_OUTCOMES, src.relay()));
  out.push(byLabel(`${P}trust_refusals_total`, "signatures and callers refused, by reason", "reason", TRUST_REFUSALS, src.trust()));
  return out;
}
