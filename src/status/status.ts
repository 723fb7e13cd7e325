import type { AgentProtocolStatus } from "../agent-protocol/service.ts";
import type { LinkStatus } from "../connection/link.ts";
import { redactUrl } from "../connection/redact.ts";
import type { EventStoreStatus } from "../events/store.ts";
import type { TrustStatus } from "../trust/trust.ts";

type LatencySummary = { count: number; p50: number | undefined; p99: number | undefined; max: number | undefined };

/**
 * The fields `eventstore.status` answered with in the NATS event-store plugin (@vainplex/nats-eventstore),
 * same names and meaning, at the top level so its callers keep working.
 */
export interface EventStoreCompatStatus {
  /** The connection the event store publishes on is up. */
  connected: boolean;
  /** The events stream, or null when the event store is off. */
  stream: string | null;
  /** Disconnects seen since the gateway started. */
  disconnectCount: number;
  /** Failed publish attempts since the last successful one (0 while publishing works). */
  publishFailures: number;
}

export interface PluginStatus extends EventStoreCompatStatus {
  connection: LinkStatus & { url: string };
  wake: {
    subjects: string[];
    durableInbox: boolean;
    received: number;
    injected: number;
    rejected: number;
    relayed: number;
    /** inbound messages refused for an OpenClaw-Hops above wake.maxHops */
    hopLimited?: number;
    /** the durable hand-off: messages handed over, injection entries committed, waits at the host's 32-entry cap, first turns, memory-only fallbacks */
    handoff?: { messages: number; entries: number; capWaits: number; firstTurns: number; systemEvents: number; failed: number };
    /** wake turns started, urgent wakes coalesced into a running or rate-limited turn */
    turns?: { wakes: number; turns: number; coalesced: number; rateLimited: number; failed: number };
    /** message arrival → committed to the host (next-turn injection) and wake asked, in µs */
    injectMicros: LatencySummary;
    /** the part of injectMicros spent in the host's enqueue + wake calls */
    hostMicros: LatencySummary;
  };
  events: EventStoreStatus | { enabled: false };
  agentProtocol: AgentProtocolStatus | { enabled: false };
  trust?: TrustStatus;
}

export interface StatusSources {
  url: string;
  link: () => LinkStatus;
  wake: () => PluginStatus["wake"];
  events: (() => Promise<EventStoreStatus>) | undefined;
  agentProtocol?: (() => AgentProtocolStatus | undefined) | undefined;
  trust?: () => TrustStatus;
}

export async function collectStatus(src: StatusSources): Promise<PluginStatus> {
  // A URL may carry user:password; status goes to chats, CLIs and dashboards.
  const connection = { ...src.link(), url: redactUrl(src.url) };
  const events = src.events ? await src.events() : ({ enabled: false } as const);
  const on = "enabled" in events ? undefined : events;
  return {
    connected: on ? on.connected : connection.connected,
    stream: on ? on.stream : null,
    disconnectCount: connection.disconnects,
    publishFailures: on ? on.consecutiveFailures : 0,
    connection,
    wake: src.wake(),
    events,
    agentProtocol: src.agentProtocol?.() ?? { enabled: false },
    ...(src.trust ? { trust: src.trust() } : {}),
  };
}

const fmt = (n: number | undefined): string => (n === undefined ? "?" : n.toLocaleString("en-US"));

/** "42 s", "3 min", "2 h": how long ago `at` was, for a person. */
export function formatAge(ms: number): string {
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} days`;
}

/**
 * The /eventstatus reply (also `openclaw nats status`): the NATS event-store plugin's lines first,
 * unchanged, so people and scripts reading them keep working; then this plugin's own.
 */
export function formatStatus(s: PluginStatus, opts: { markdown?: boolean; now?: number } = {}): string {
  const c = s.connection;
  const lines = [
    opts.markdown === false ? "NATS Event Store" : "**NATS Event Store**",
    `Connected: ${s.connected ? "✅" : "❌"}`,
    `Stream: ${s.stream ?? "n/a"}`,
    `Disconnects: ${s.disconnectCount}`,
    `Publish failures: ${s.publishFailures}`,
    "",
    `NATS: ${c.connected ? `connected to ${c.server}` : `not connected (${c.url})`} · disconnects ${c.disconnects}${c.lastError ? ` · last error: ${c.lastError}` : ""}`,
    `Wake: ${s.wake.subjects.join(", ")}${s.wake.durableInbox ? " (durable inbox)" : ""} · received ${s.wake.received}, injected ${s.wake.injected}, rejected ${s.wake.rejected}, relayed ${s.wake.relayed}`,
  ];
  const wt = s.wake.turns;
  if (wt) lines.push(`Wake turns: ${wt.turns} started · ${wt.coalesced} urgent wakes coalesced · ${wt.rateLimited} rate-limited · hop-limited ${s.wake.hopLimited ?? 0}`);
  const e = s.events;
  if ("enabled" in e) lines.push("Events: off");
  else {
    const oldest = e.spoolOldestAt === undefined ? "" : `, oldest ${formatAge((opts.now ?? Date.now()) - e.spoolOldestAt)} old`;
    lines.push(`Events: stream ${e.stream} · ${fmt(e.streamMessages)} msgs, ${fmt(e.streamBytes)} bytes`);
    lines.push(`Spool: ${fmt(e.spoolDepth)} waiting${oldest} (${fmt(e.spoolBytes)} of ${fmt(e.spoolMaxBytes)} bytes) · published ${fmt(e.published)}, duplicates ${fmt(e.duplicates)}, failures ${fmt(e.failures)}, dropped ${fmt(e.dropped)}`);
    if (e.lastError) lines.push(`Last event error: ${e.lastError}`);
  }
  const ap = s.agentProtocol;
  if ("enabled" in ap) lines.push("Agent protocol: off");
  else lines.push(`Agent protocol: ${ap.agents.map((a) => a.prompt).join(", ") || "no agents registered"} · ${ap.activeTurns} turn(s) running`);
  const t = s.trust;
  if (t) {
    lines.push(`Trust: key ${t.publicKey ?? "none"} · ${t.trustedKeys} trusted key(s) · unsigned callers ${t.trustUnsignedCallers ? "may have turns" : "wake only"} · signatures verified ${t.verified}, rejected ${t.rejected}`);
  }
  return lines.join("\n");
}
