import { jetstreamManager } from "@nats-io/jetstream";
import type { EventsConfig } from "../config/schema.ts";
import type { LaneDrainer } from "../spool/drain.ts";
import type { Spool } from "../spool/spool.ts";
import { eventIdTime } from "./envelope.ts";
import type { EnsureOutcome, StreamSpec } from "./stream.ts";
import type { Lane, LinkEntry, Topology } from "./topology.ts";
import { jsDomain } from "../connection/domain.ts";

// What `nats.status`, `/eventstatus` and the dashboard show of the event store: per stream and per lane.

export interface StreamStatus {
  name: string;
  /** Which connection it lives on: "default" or the agent ids sharing an override. */
  connection: string;
  subjects: string[];
  provisioned: EnsureOutcome | "pending";
  messages: number | undefined;
  bytes: number | undefined;
}

export interface LaneStatus {
  name: string;
  connected: boolean;
  server: string | undefined;
  depth: number;
  bytes: number;
  inFlight: number;
  published: number;
  duplicates: number;
  failures: number;
}

export interface EventStoreStatus {
  /** The default connection (the one `events.streamName` lives on). */
  connected: boolean;
  server: string | undefined;
  stream: string;
  streamMessages: number | undefined;
  streamBytes: number | undefined;
  /** Events written locally and not yet acked by JetStream (all lanes). */
  spoolDepth: number;
  spoolBytes: number;
  spoolMaxBytes: number;
  /** When the oldest event still in the spool was recorded (epoch ms); undefined when the spool is empty. */
  spoolOldestAt: number | undefined;
  /** Acks for new messages. */
  published: number;
  /** Acks the server flagged duplicate (a re-send it had already stored). */
  duplicates: number;
  /** Failed publish attempts (each is retried). */
  failures: number;
  /** Failed publish attempts since the last acked one, summed over lanes (0 while publishing works). */
  consecutiveFailures: number;
  /** Disconnects seen on the connections events use. */
  disconnects: number;
  /** Events lost on purpose: spool full (oldest first), too large for the server, or record errors. */
  dropped: number;
  /** Events not recorded because of events.allow/block. */
  filtered: number;
  lastError: string | undefined;
  streams: StreamStatus[];
  lanes: LaneStatus[];
}

/** A stream's figures from the server; when it cannot answer, the last figures it gave. */
export async function streamStatus(entry: LinkEntry, spec: StreamSpec): Promise<StreamStatus> {
    const nc = entry.link.current;
  if (nc && entry.link.isConnected) {
    try {
      const jsm = await jetstreamManager(nc, { ...jsDomain(nc), timeout: 1000, checkAPI: false });
      const info = await jsm.streams.info(spec.name);
      entry.lastInfo.set(spec.name, { messages: info.state.messages, bytes: info.state.bytes });
    } catch {
      // keep the last figures we had
    }
  }
  const last = entry.lastInfo.get(spec.name);
  return {
    name: spec.name,
    connection: entry.label,
    subjects: spec.subjects,
    provisioned: entry.outcomes.get(spec.name) ?? "pending",
    messages: last?.messages,
    bytes: last?.bytes,
  };
}

export function laneStatus(lane: Lane, spool: Spool | undefined): LaneStatus {
  const s = lane.drainer?.stats;
  return {
    name: lane.name,
    connected: lane.link.link.isConnected,
    server: lane.link.link.status().server,
    depth: spool?.depth(lane.name) ?? 0,
    bytes: spool?.bytes(lane.name) ?? 0,
    inFlight: lane.drainer?.pending ?? 0,
    published: s?.published ?? 0,
    duplicates: s?.duplicates ?? 0,
    failures: s?.failures ?? 0,
  };
}

/** What the store counts itself, besides what its topology and spool know. */
export interface StoreCounters {
  topology: Topology;
  spool: Spool | undefined;
  config: EventsConfig;
  dropped: number;
  filtered: number;
  lastError: string | undefined;
}

/**
 * `now` is read after the streams answered: a stop() during that wait closes the spool, and the
 * figures must then show "no spool" rather than call into a closed one.
 */
export async function gatherStatus(now: () => StoreCounters): Promise<EventStoreStatus> {
  const { topology } = now();
  const streams = await Promise.all([...topology.links.values()].flatMap((entry) => [...entry.specs.values()].map((spec) => streamStatus(entry, spec))));
  const c = now();
  const { config, spool } = c;
  const lanes = [...topology.lanes.values()].map((lane) => laneStatus(lane, spool));
  const main = topology.main;
  const mainStream = streams.find((s) => s.connection === main.label && s.name === config.streamName);
  const drainers = [...topology.lanes.values()].flatMap((l) => (l.drainer ? [l.drainer] : []));
  const sum = (pick: (d: LaneDrainer) => number): number => drainers.reduce((n, d) => n + pick(d), 0);
  const oldest = spool && !spool.isClosed ? spool.oldestId() : undefined;
  return {
    connected: main.link.isConnected,
    server: main.link.status().server,
    stream: config.streamName,
    streamMessages: mainStream?.messages,
    streamBytes: mainStream?.bytes,
    spoolDepth: spool?.depth() ?? 0,
    spoolBytes: spool?.bytes() ?? 0,
    spoolMaxBytes: config.spool.maxBytes,
    spoolOldestAt: oldest === undefined ? undefined : eventIdTime(oldest),
    published: sum((d) => d.stats.published),
    duplicates: sum((d) => d.stats.duplicates),
    failures: sum((d) => d.stats.failures),
    consecutiveFailures: sum((d) => d.consecutiveFailures),
    disconnects: [...topology.links.values()].reduce((n, e) => n + e.link.status().disconnects, 0),
    dropped: c.dropped + sum((d) => d.stats.rejected),
    filtered: c.filtered,
    lastError: c.lastError,
    streams,
    lanes,
  };
}
