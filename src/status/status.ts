import type { AgentProtocolStatus } from "../agent-protocol/service.ts";
import type { LinkStatus } from "../connection/link.ts";
import type { EventStoreStatus } from "../events/store.ts";
import { redactUrl } from "../connection/redact.ts";
import type { TrustStatus } from "../trust/trust.ts";

type LatencySummary = { count: number; p50: number | undefined; p99: number | undefined; max: number | undefined };

export interface PluginStatus {
  connection: LinkStatus & { url: string };
  wake: {
    subjects: string[];
    durableInbox: boolean;
    received: number;
    injected: number;
    rejected: number;
    relayed: number;
    /** message arrival → system event enqueued and wake requested, in µs */
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
  return {
    connection: { ...src.link(), url: redactUrl(src.url) },
    wake: src.wake(),
    events: src.events ? await src.events() : { enabled: false },
    agentProtocol: src.agentProtocol?.() ?? { enabled: false },
    ...(src.trust ? { trust: src.trust() } : {}),
  };
}

const fmt = (n: number | undefined): string => (n === undefined ? "?" : n.toLocaleString("en-US"));

/** The /eventstatus reply: short lines a person reads in a chat. */
export function formatStatus(s: PluginStatus): string {
  const c = s.connection;
  const lines = [
    `NATS: ${c.connected ? `connected to ${c.server}` : `not connected (${c.url})`} · disconnects ${c.disconnects}${c.lastError ? ` · last error: ${c.lastError}` : ""}`,
    `Wake: ${s.wake.subjects.join(", ")}${s.wake.durableInbox ? " (durable inbox)" : ""} · received ${s.wake.received}, injected ${s.wake.injected}, rejected ${s.wake.rejected}, relayed ${s.wake.relayed}`,
  ];
  const e = s.events;
  if ("enabled" in e) lines.push("Events: off");
  else {
    lines.push(`Events: stream ${e.stream} · ${fmt(e.streamMessages)} msgs, ${fmt(e.streamBytes)} bytes`);
    lines.push(`Spool: ${fmt(e.spoolDepth)} waiting (${fmt(e.spoolBytes)} of ${fmt(e.spoolMaxBytes)} bytes) · published ${fmt(e.published)}, duplicates ${fmt(e.duplicates)}, failures ${fmt(e.failures)}, dropped ${fmt(e.dropped)}`);
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
