import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { AgentStreamConfig, EventsConfig } from "../config/schema.ts";
import { NatsLink } from "../connection/link.ts";
import { agentInboxPrefix, dialTarget, type ConnectionSettings } from "../connection/options.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { LaneDrainer } from "../spool/drain.ts";
import { Spool } from "../spool/spool.ts";
import { agentOf, buildEnvelope, eventIdTime, eventSubject, newEventId, type EventEnvelope, type EventInput } from "./envelope.ts";
import { ensureStream, streamSpec, type EnsureOutcome, type StreamSpec } from "./stream.ts";
import { subjectsOverlap } from "../shared/subjects.ts";
import { SubjectFilter } from "./subject-filter.ts";

export type { EventEnvelope, EventInput, EventMeta, Visibility } from "./envelope.ts";

export interface EventStoreOptions {
  config: EventsConfig;
  /** The plugin's state dir; the spool lives in `<stateDir>/event-spool.sqlite`. */
  stateDir: string;
  /** The plugin's shared connection (started and stopped by its owner). */
  link: NatsLink;
  logger: Logger;
  /** Builds the connection for an agent with its own `url`/`credentials`; the store starts and stops it. */
  linkFactory?: (agentId: string, override: AgentStreamConfig) => NatsLink;
  /** Base settings the default linkFactory derives agent connections from (reconnect, TLS, name, url). */
  connection?: ConnectionSettings;
  /** How long one publish waits for its JetStream ack; default 5000. */
  publishTimeoutMs?: number;
}

/** Where events are read back from: a connection, a stream and the agents whose subjects it holds. */
export interface ReadRoute {
  /** "default", or the agent ids sharing an own connection. */
  label: string;
  link: NatsLink;
  stream: string;
  prefix: string;
  /** "*": every agent token under `prefix` in this stream (the default route). */
  agents: string[] | "*";
}

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

interface LinkEntry {
  key: string;
  label: string;
  link: NatsLink;
  owned: boolean;
  ready: boolean;
  provisioning: boolean;
  provisionedAt: number;
  /** Pause before provisioning is tried again after a failure; doubles up to 5 minutes. */
  retryMs: number;
  maxPayload: number;
  specs: Map<string, StreamSpec>;
  outcomes: Map<string, EnsureOutcome>;
  lastInfo: Map<string, { messages: number; bytes: number }>;
  unsubscribe?: () => void;
}

interface Lane {
  name: string;
  link: LinkEntry;
  drainer?: LaneDrainer;
}

interface Route {
  prefix: string;
  lane: Lane;
}

interface Destination {
  subject: string;
  lane: Lane;
  pass: boolean;
}

const DEFAULT_LANE = "default";
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room for the HPUB line and the Nats-Msg-Id header inside the server's max_payload. */
const HEADER_ROOM = 256;
const DESTINATION_CACHE_LIMIT = 10_000;
const MAINTAIN_INTERVAL_MS = 1000;
const PROVISION_RETRY_MS = 5000;
const PROVISION_RETRY_MAX_MS = 300_000;
const WARN_EVERY_MS = 10_000;

/**
 * The event store: record() writes each event to the local spool (SQLite) and returns; lane
 * drainers publish the spool to JetStream in the background and delete rows once acked.
 */
export class EventStore {
  private readonly config: EventsConfig;
  private readonly log: Logger;
  private readonly spoolPath: string;
  private readonly publishTimeoutMs: number;
  private readonly filter: SubjectFilter;
  private readonly links = new Map<string, LinkEntry>();
  private readonly lanes = new Map<string, Lane>();
  private readonly defaultRoute: Route;
  private readonly agentRoutes = new Map<string, Route>();
  private readonly destinations = new Map<string, Destination>();
  private readonly taps = new Set<(event: EventEnvelope, subject: string) => void>();
  private spool: Spool | undefined;
  private spoolError: string | undefined;
  private maintainTimer: NodeJS.Timeout | undefined;
  private trimQueued = false;
  private started = false;
  private stopped = false;
  private dropped = 0;
  private filtered = 0;
  private lastError: string | undefined;
  private lastWarnAt = 0;

  constructor(opts: EventStoreOptions) {
    this.config = opts.config;
    this.log = opts.logger;
    this.spoolPath = join(opts.stateDir, "event-spool.sqlite");
    this.publishTimeoutMs = opts.publishTimeoutMs ?? 5000;
    this.filter = new SubjectFilter(opts.config.allow, opts.config.block);
    const main = this.linkEntry("default", "default", opts.link, false);
    this.defaultRoute = { prefix: opts.config.subjectPrefix, lane: this.lane(DEFAULT_LANE, main) };
    this.addSpec(main, opts.config.streamName, opts.config.subjectPrefix);
    for (const [agentId, override] of Object.entries(opts.config.agents)) {
      const route = this.agentRoute(agentId, override, main, opts);
      this.agentRoutes.set(agentId, route);
      this.addSpec(route.lane.link, override.streamName ?? opts.config.streamName, route.prefix);
    }
    this.warnOverlaps();
  }

  // ---- wiring -------------------------------------------------------------------------------

  private linkEntry(key: string, label: string, link: NatsLink, owned: boolean): LinkEntry {
    const entry: LinkEntry = {
      key,
      label,
      link,
      owned,
      ready: false,
      provisioning: false,
      provisionedAt: 0,
      retryMs: PROVISION_RETRY_MS,
      maxPayload: DEFAULT_MAX_PAYLOAD,
      specs: new Map(),
      outcomes: new Map(),
      lastInfo: new Map(),
    };
    this.links.set(key, entry);
    return entry;
  }

  private lane(name: string, link: LinkEntry): Lane {
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = { name, link };
      this.lanes.set(name, lane);
    }
    return lane;
  }

  private agentRoute(agentId: string, override: AgentStreamConfig, main: LinkEntry, opts: EventStoreOptions): Route {
    const prefix = override.subjectPrefix ?? this.config.subjectPrefix;
    if (!override.url && !override.credentials) return { prefix, lane: this.defaultRoute.lane };
    const key = JSON.stringify([override.url ?? opts.connection?.url ?? "", override.credentials ?? null]);
    let entry = this.links.get(key);
    if (entry) {
      entry.label += `,${agentId}`;
    } else {
      const link = this.makeLink(agentId, override, opts);
      entry = link ? this.linkEntry(key, agentId, link, true) : main;
    }
    return { prefix, lane: this.lane(`agent:${agentId}`, entry) };
  }

  private makeLink(agentId: string, override: AgentStreamConfig, opts: EventStoreOptions): NatsLink | undefined {
    if (opts.linkFactory) return opts.linkFactory(agentId, override);
    const base = opts.connection;
    const url = override.url ?? base?.url;
    if (!url) {
      this.log.warn(`events: agents.${agentId} sets credentials but no url, and no base connection was given; using the default connection`);
      return undefined;
    }
    const settings: ConnectionSettings = {
      url,
      // A per-agent URL with its own user-info speaks for itself; the default connection's credentials are not inherited then.
      credentials: override.credentials ?? (override.url && dialTarget(override.url).credentials ? undefined : base?.credentials),
      tls: base?.tls,
      reconnect: base?.reconnect ?? { maxAttempts: -1, delayMs: 1000, maxDelayMs: 30_000 },
      name: `${base?.name ?? "openclaw"}-events-${agentId}`,
      inboxPrefix: agentInboxPrefix(base?.inboxPrefix, agentId),
    };
    return new NatsLink(settings, this.log);
  }

  private addSpec(entry: LinkEntry, stream: string, prefix: string): void {
    const prefixes = [...(entry.specs.get(stream)?.subjects.map((s) => s.slice(0, -2)) ?? []), prefix];
    entry.specs.set(stream, streamSpec(this.config, stream, prefixes));
  }

  private warnOverlaps(): void {
    for (const entry of this.links.values()) {
      const specs = [...entry.specs.values()];
      for (let i = 0; i < specs.length; i++) {
        for (let j = i + 1; j < specs.length; j++) {
          const clash = specs[i].subjects.find((a) => specs[j].subjects.some((b) => subjectsOverlap(a, b)));
          if (clash) {
            this.log.warn(
              `events: streams "${specs[i].name}" and "${specs[j].name}" on the ${entry.label} connection would share subjects (${clash}); NATS refuses that, give the agent its own subjectPrefix or url`,
            );
          }
        }
      }
    }
  }

  /** The spool, opened on first use; undefined (and said once) when the file cannot be opened. */
  private openSpool(): Spool | undefined {
    if (!this.spool) {
      if (this.spoolError) return undefined;
      try {
        this.spool = Spool.open({ path: this.spoolPath, maxBytes: this.config.spool.maxBytes });
      } catch (err) {
        this.spoolError = `cannot open the event spool: ${errorMessage(err)}`;
        this.lastError = this.spoolError;
        this.log.error(`events: ${this.spoolError}; events are not recorded until the gateway restarts`);
        return undefined;
      }
      for (const name of this.spool.laneNames()) {
        if (!this.lanes.has(name)) {
          this.log.info(`events: spool lane "${name}" is no longer configured; draining it over the default connection`);
          this.lane(name, this.defaultRoute.lane.link);
        }
      }
    }
    return this.spool;
  }

  /**
   * The streams this store writes to, with the connection it uses for each: readers (memory) reuse the
   * plugin's connections and an agent's own credentials for its own stream.
   */
  readRoutes(): ReadRoute[] {
    const routes: ReadRoute[] = [];
    const main = this.defaultRoute.lane.link;
    routes.push({ label: main.label, link: main.link, stream: this.config.streamName, prefix: this.config.subjectPrefix, agents: "*" });
    for (const [agentId, route] of this.agentRoutes) {
      const stream = this.config.agents[agentId]?.streamName ?? this.config.streamName;
      const entry = route.lane.link;
      if (entry === main && stream === this.config.streamName && route.prefix === this.config.subjectPrefix) continue;
      const same = routes.find((r) => r.link === entry.link && r.stream === stream && r.prefix === route.prefix);
      if (same && same.agents !== "*") same.agents.push(agentId);
      else if (!same) routes.push({ label: entry.label, link: entry.link, stream, prefix: route.prefix, agents: [agentId] });
    }
    return routes;
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  /**
   * Opens the spool and starts draining in the background. Never throws: NATS being down only
   * delays publishing, and a spool that cannot be opened is logged and shown in status().
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopped = false; // a service stop → start opens the spool again
    const spool = this.openSpool();
    if (!spool) return;
    for (const lane of this.lanes.values()) {
      lane.drainer = new LaneDrainer(spool, lane.name, lane.link.link, this.log, {
        inFlight: this.config.spool.inFlight,
        publishTimeoutMs: this.publishTimeoutMs,
        maxBackoffMs: 5000,
        ready: () => lane.link.ready,
        onError: (message) => {
          this.lastError = message;
        },
      });
    }
    for (const entry of this.links.values()) {
      entry.unsubscribe = entry.link.onConnect((nc) => this.onConnect(entry, nc));
      if (entry.owned) void entry.link.start();
    }
    this.maintainTimer = setInterval(() => this.maintain(), MAINTAIN_INTERVAL_MS);
    this.maintainTimer.unref();
    if (spool.depth() > 0) this.log.info(`events: ${spool.depth()} spooled event(s) from an earlier run will be published`);
    for (const lane of this.lanes.values()) lane.drainer?.notify();
  }

  private async onConnect(entry: LinkEntry, nc: NatsConnection): Promise<void> {
    entry.ready = false;
    const serverMax = nc.info?.max_payload;
    entry.maxPayload = serverMax && serverMax > 0 ? serverMax : DEFAULT_MAX_PAYLOAD;
    entry.retryMs = PROVISION_RETRY_MS;
    await this.provision(entry, nc, [...entry.specs.values()]);
    entry.ready = true;
    for (const lane of this.lanes.values()) if (lane.link === entry) lane.drainer?.notify();
  }

  private async provision(entry: LinkEntry, nc: NatsConnection, specs: StreamSpec[]): Promise<void> {
    entry.provisioning = true;
    entry.provisionedAt = Date.now();
    try {
      const jsm = await jetstreamManager(nc, { timeout: this.publishTimeoutMs });
      for (const spec of specs) entry.outcomes.set(spec.name, (await ensureStream(jsm, spec, this.log)).outcome);
    } catch (err) {
      for (const spec of specs) entry.outcomes.set(spec.name, "failed");
      this.noteError(`JetStream unavailable on the ${entry.label} connection: ${errorMessage(err)}`);
    } finally {
      entry.provisioning = false;
    }
  }

  /** A stream that could not be created (JetStream not ready yet, cluster without a leader, …) is tried again. */
  private retryProvisioning(): void {
    for (const entry of this.links.values()) {
      const nc = entry.link.current;
      if (!nc || !entry.link.isConnected || entry.provisioning || Date.now() - entry.provisionedAt < entry.retryMs) continue;
      const failed = [...entry.specs.values()].filter((spec) => entry.outcomes.get(spec.name) === "failed");
      if (failed.length === 0) continue;
      entry.retryMs = Math.min(entry.retryMs * 2, PROVISION_RETRY_MAX_MS);
      void this.provision(entry, nc, failed);
    }
  }

  private maintain(): void {
    if (!this.spool || this.spool.isClosed) return;
    this.retryProvisioning();
    if (this.spool.overLimit) this.trim();
    this.spool.maintain(true);
  }

  /** Waits until every spooled event is acked (true) or the time is up (false). */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const lane of this.lanes.values()) lane.drainer?.flushDeletes();
      if (!this.spool || this.spool.depth() === 0) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Stops draining (waiting briefly for acks in flight) and closes the spool; unsent events stay for the next start. */
  async stop(): Promise<void> {
    if (this.stopped || !this.started) return;
    this.stopped = true;
    this.started = false;
    if (this.maintainTimer) clearInterval(this.maintainTimer);
    await Promise.all([...this.lanes.values()].map((lane) => lane.drainer?.stop()));
    for (const entry of this.links.values()) {
      entry.unsubscribe?.();
      if (entry.owned) await entry.link.stop();
    }
    this.spool?.close();
    this.spool = undefined;
  }

  // ---- the agent's path ---------------------------------------------------------------------

  private destination(agent: string, type: string): Destination {
    const key = `${agent}\n${type}`;
    let dest = this.destinations.get(key);
    if (!dest) {
      const route = this.agentRoutes.get(agent) ?? this.defaultRoute;
      const subject = eventSubject(route.prefix, agent, type);
      dest = { subject, lane: route.lane, pass: this.filter.passes(subject) };
      if (this.destinations.size >= DESTINATION_CACHE_LIMIT) this.destinations.clear();
      this.destinations.set(key, dest);
    }
    return dest;
  }

  /**
   * Records one event: envelope, allow/block, one spool INSERT. Synchronous, never throws, never
   * waits on NATS; publishing happens later on the event loop. Returns the event id, or undefined
   * when the event was filtered out or dropped.
   */
  record(input: EventInput): string | undefined {
    try {
      if (this.stopped) return this.drop("event store stopped");
      const spool = this.spool ?? this.openSpool();
      if (!spool) return this.drop(this.spoolError ?? "no spool");
      const agent = agentOf(input);
      const dest = this.destination(agent, input.type);
      if (!dest.pass) {
        this.filtered++;
        return undefined;
      }
      const id = newEventId();
      const envelope = buildEnvelope(input, id);
      const data = JSON.stringify(envelope);
      const size = Buffer.byteLength(data);
      if (size + HEADER_ROOM > dest.lane.link.maxPayload) {
        return this.drop(`event ${input.type} of ${agent} is ${size} bytes, over the server's max_payload ${dest.lane.link.maxPayload}`);
      }
      const seq = spool.append(dest.lane.name, id, dest.subject, data, size);
      if (spool.overLimit) this.scheduleTrim(spool);
      dest.lane.drainer?.offer({ seq, id, subject: dest.subject, data, size });
      for (const tap of this.taps) {
        try {
          tap(envelope, dest.subject);
        } catch (err) {
          this.noteError(`event listener failed on ${input.type}: ${errorMessage(err)}`);
        }
      }
      return id;
    } catch (err) {
      return this.drop(`cannot record event ${input?.type}: ${errorMessage(err)}`);
    }
  }

  /**
   * Also hand every recorded event to `listener` (after the spool write, synchronously): the memory
   * projection reads the gateway's own events this way, before and without the round trip through NATS.
   * A listener must be quick and must not throw; returns the unsubscribe function.
   */
  tap(listener: (event: EventEnvelope, subject: string) => void): () => void {
    this.taps.add(listener);
    return () => this.taps.delete(listener);
  }

  private scheduleTrim(spool: Spool): void {
    // Trimming runs after the caller's turn, unless the spool is already well past its limit.
    if (spool.bytes() > spool.maxBytes * 1.1) return this.trim();
    if (this.trimQueued) return;
    this.trimQueued = true;
    setImmediate(() => {
      this.trimQueued = false;
      this.trim();
    });
  }

  private trim(): void {
    if (!this.spool || this.spool.isClosed || !this.spool.overLimit) return;
    const r = this.spool.trim();
    if (r.rows === 0) return;
    for (const lane of this.lanes.values()) lane.drainer?.reload();
    this.dropped += r.rows;
    this.lastError = `spool full (${this.config.spool.maxBytes} bytes): dropped the ${r.rows} oldest event(s)`;
    this.warnRarely(`events: ${this.lastError}; ${this.dropped} dropped in total`);
  }

  private drop(reason: string): undefined {
    this.dropped++;
    this.noteError(reason);
    return undefined;
  }

  private noteError(message: string): void {
    this.lastError = message;
    this.warnRarely(`events: ${message}`);
  }

  private warnRarely(message: string): void {
    const now = Date.now();
    if (now - this.lastWarnAt < WARN_EVERY_MS) return;
    this.lastWarnAt = now;
    this.log.warn(message);
  }

  // ---- status -------------------------------------------------------------------------------

  /** Events spooled and not yet acked, without a round trip (cheap; for back-pressure and tests). */
  get spoolDepth(): number {
    return this.spool?.depth() ?? 0;
  }

  async status(): Promise<EventStoreStatus> {
    const streams = await Promise.all([...this.links.values()].flatMap((entry) => [...entry.specs.values()].map((spec) => this.streamStatus(entry, spec))));
    const lanes = [...this.lanes.values()].map((lane) => this.laneStatus(lane));
    const main = this.defaultRoute.lane.link;
    const mainStream = streams.find((s) => s.connection === main.label && s.name === this.config.streamName);
    const drainers = [...this.lanes.values()].flatMap((l) => (l.drainer ? [l.drainer] : []));
    const sum = (pick: (d: LaneDrainer) => number): number => drainers.reduce((n, d) => n + pick(d), 0);
    const oldest = this.spool && !this.spool.isClosed ? this.spool.oldestId() : undefined;
    return {
      connected: main.link.isConnected,
      server: main.link.status().server,
      stream: this.config.streamName,
      streamMessages: mainStream?.messages,
      streamBytes: mainStream?.bytes,
      spoolDepth: this.spool?.depth() ?? 0,
      spoolBytes: this.spool?.bytes() ?? 0,
      spoolMaxBytes: this.config.spool.maxBytes,
      spoolOldestAt: oldest === undefined ? undefined : eventIdTime(oldest),
      published: sum((d) => d.stats.published),
      duplicates: sum((d) => d.stats.duplicates),
      failures: sum((d) => d.stats.failures),
      consecutiveFailures: sum((d) => d.consecutiveFailures),
      disconnects: [...this.links.values()].reduce((n, e) => n + e.link.status().disconnects, 0),
      dropped: this.dropped + sum((d) => d.stats.rejected),
      filtered: this.filtered,
      lastError: this.lastError,
      streams,
      lanes,
    };
  }

  private async streamStatus(entry: LinkEntry, spec: StreamSpec): Promise<StreamStatus> {
    const nc = entry.link.current;
    if (nc && entry.link.isConnected) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 1000, checkAPI: false });
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

  private laneStatus(lane: Lane): LaneStatus {
    const s = lane.drainer?.stats;
    return {
      name: lane.name,
      connected: lane.link.link.isConnected,
      server: lane.link.link.status().server,
      depth: this.spool?.depth(lane.name) ?? 0,
      bytes: this.spool?.bytes(lane.name) ?? 0,
      inFlight: lane.drainer?.pending ?? 0,
      published: s?.published ?? 0,
      duplicates: s?.duplicates ?? 0,
      failures: s?.failures ?? 0,
    };
  }
}
