import { join } from "node:path";
import { RateLimitedLog } from "../shared/rate-limited-log.ts";
import { mergeBuckets, type BucketCounts } from "../shared/reservoir.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import type { EventsConfig } from "../config/schema.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { LaneDrainer } from "../spool/drain.ts";
import type { Spool } from "../spool/spool.ts";
import { acquireSpool, releaseSpool } from "../spool/shared.ts";
import { processTraces } from "../trace/sessions.ts";
import { agentOf, buildEnvelope, newEventId, type EventEnvelope, type EventInput } from "./envelope.ts";
import { gatherStatus, type EventStoreStatus } from "./store-status.ts";
import { prepareLink, retryFailedStreams, type ProvisionContext } from "./provision.ts";
import { SubjectFilter } from "./subject-filter.ts";
import { Topology, type LinkEntry, type ReadRoute, type TopologyOptions } from "./topology.ts";

export type { EventEnvelope, EventInput, EventMeta, Visibility } from "./envelope.ts";
export type { EventStoreStatus, LaneStatus, StreamStatus } from "./store-status.ts";
export type { ReadRoute } from "./topology.ts";

export interface EventStoreOptions extends TopologyOptions {
  /** The plugin's state dir; the spool lives in `<stateDir>/event-spool.sqlite`. */
  stateDir: string;
  /** How long one publish waits for its JetStream ack; default 5000. */
  publishTimeoutMs?: number;
}

/** Room for the HPUB line, the Nats-Msg-Id header and the trace headers (traceparent + a tracestate of at most 512) inside the server's max_payload. */
const HEADER_ROOM = 256 + 640;
const MAINTAIN_INTERVAL_MS = 1000;
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
  private readonly topology: Topology;
  private readonly provisioning: ProvisionContext;
  private readonly taps = new Set<(event: EventEnvelope, subject: string) => void>();
  private spool: Spool | undefined;
  private spoolError: string | undefined;
  private maintainTimer: NodeJS.Timeout | undefined;
  private trimQueued = false;
  private started = false;
  private stopped = false;
  private dropped = 0;
  private filtered = 0;
  /** Events written to the spool since the gateway started (metrics). */
  private recordedCount = 0;
  private lastError: string | undefined;
  /** Warnings: at most one line per WARN_EVERY_MS, the rest counted in the next (shared/rate-limited-log.ts). */
  private readonly warnings: RateLimitedLog;

  constructor(opts: EventStoreOptions) {
    this.config = opts.config;
    this.log = opts.logger;
    this.warnings = new RateLimitedLog(opts.logger, "events: warnings", { intervalMs: WARN_EVERY_MS });
    this.spoolPath = join(opts.stateDir, "event-spool.sqlite");
    this.publishTimeoutMs = opts.publishTimeoutMs ?? 5000;
    this.filter = new SubjectFilter(opts.config.allow, opts.config.block);
    this.topology = new Topology(opts);
    this.provisioning = { timeoutMs: this.publishTimeoutMs, log: this.log, onError: (message) => this.noteError(message) };
  }

  /** The spool, opened on first use; undefined (and said once) when the file cannot be opened. */
  private openSpool(): Spool | undefined {
    if (!this.spool) {
      if (this.spoolError) return undefined;
      try {
        // Shared with a store of this process that still holds the file (a config reload: see spool/shared.ts).
        this.spool = acquireSpool({ path: this.spoolPath, maxBytes: this.config.spool.maxBytes });
      } catch (err) {
        this.spoolError = `cannot open the event spool: ${errorMessage(err)}`;
        this.lastError = this.spoolError;
        this.log.error(`events: ${this.spoolError}; events are not recorded until the gateway restarts`);
        return undefined;
      }
      for (const name of this.spool.laneNames()) {
        if (!this.topology.lanes.has(name)) {
          this.log.info(`events: spool lane "${name}" is no longer configured; draining it over the default connection`);
          this.topology.lane(name);
        }
      }
    }
    return this.spool;
  }

  /** The streams this store writes to, with the connection each uses (see Topology.readRoutes). */
  readRoutes(): ReadRoute[] {
    return this.topology.readRoutes();
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
    for (const lane of this.topology.lanes.values()) {
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
    for (const entry of this.topology.links.values()) {
      entry.unsubscribe = entry.link.onConnect((nc) => this.onConnect(entry, nc));
      if (entry.owned) void entry.link.start();
    }
    this.maintainTimer = setInterval(() => this.maintain(), MAINTAIN_INTERVAL_MS);
    this.maintainTimer.unref();
    if (spool.depth() > 0) this.log.info(`events: ${spool.depth()} spooled event(s) from an earlier run will be published`);
    for (const lane of this.topology.lanes.values()) lane.drainer?.notify();
  }

  private async onConnect(entry: LinkEntry, nc: NatsConnection): Promise<void> {
    await prepareLink(entry, nc, this.provisioning);
    for (const lane of this.topology.lanes.values()) if (lane.link === entry) lane.drainer?.notify();
  }

  private maintain(): void {
    if (!this.spool || this.spool.isClosed) return;
    retryFailedStreams(this.topology.links.values(), this.provisioning);
    if (this.spool.overLimit) this.trim();
    this.spool.maintain(true);
  }

  /** Waits until every spooled event is acked (true) or the time is up (false). */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const lane of this.topology.lanes.values()) lane.drainer?.flushDeletes();
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
    await Promise.all([...this.topology.lanes.values()].map((lane) => lane.drainer?.stop()));
    for (const entry of this.topology.links.values()) {
      entry.unsubscribe?.();
      if (entry.owned) await entry.link.stop();
    }
    if (this.spool) releaseSpool(this.spool);
    this.spool = undefined;
  }

  // ---- the agent's path ---------------------------------------------------------------------

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
      const dest = this.topology.destination(agent, input.type, this.filter);
      if (!dest.pass) {
        this.filtered++;
        return undefined;
      }
      const id = newEventId();
      const trace = input.trace ?? processTraces().headers(input.session);
      const envelope = buildEnvelope(trace ? { ...input, trace } : input, id);
      const data = JSON.stringify(envelope);
      const size = Buffer.byteLength(data);
      if (size + HEADER_ROOM > dest.lane.link.maxPayload) {
        return this.drop(`event ${input.type} of ${agent} is ${size} bytes, over the server's max_payload ${dest.lane.link.maxPayload}`);
      }
      const seq = spool.append(dest.lane.name, id, dest.subject, data, size);
      this.recordedCount++;
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
    for (const lane of this.topology.lanes.values()) lane.drainer?.reload();
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
    this.warnings.report(message);
  }

  // ---- status -------------------------------------------------------------------------------

  /** Events spooled and not yet acked, without a round trip (cheap; for back-pressure and tests). */
  get spoolDepth(): number {
    return this.spool?.depth() ?? 0;
  }

  /** Events recorded, and publish → ack latency of every lane in one histogram (metrics). */
  metrics(): { recorded: number; publishLatency: BucketCounts } {
    const all = [...this.topology.lanes.values()].flatMap((l) => (l.drainer ? [l.drainer.ackMicros.buckets()] : []));
    return { recorded: this.recordedCount, publishLatency: mergeBuckets(all) };
  }

  async status(): Promise<EventStoreStatus> {
    return gatherStatus(() => ({ topology: this.topology, spool: this.spool, config: this.config, dropped: this.dropped, filtered: this.filtered, lastError: this.lastError }));
  }
}
