import { join } from "node:path";
import type { NatsPluginConfig } from "../config/schema.ts";
import type { NatsLink } from "../connection/link.ts";
import type { EventStore, ReadRoute } from "../events/store.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { Reservoir, type BucketCounts } from "../shared/reservoir.ts";
import { agentOfSessionKey } from "../shared/session-key.ts";
import { feedSources, ProjectionFeed, type FeedSourceStatus } from "./feed.ts";
import { Projection } from "./projection.ts";
import { CarriedTurns } from "./turns.ts";
import { MemoryQueries, QueryTimeoutError } from "./queries.ts";
import type { RankedHit } from "./queries-core.ts";
import type { Exclusion } from "./projection.ts";
import { NOTE_TYPES, type MemoryRow } from "./rows.ts";
import { agentMemory, visibilityFor, type AgentMemory } from "./settings.ts";
import { MAX_DATE_TEXT } from "./when.ts";
import { ProjectionWriter } from "./writer.ts";

/** The note file the session-start block includes: the agent's imported MEMORY.md. */
export const LONGTERM_NOTE_PATH = "MEMORY.md";
/** Search is a tool call, not the start of a turn: it may take longer than memory.timeoutMs. */
const SEARCH_MIN_TIMEOUT_MS = 5000;

export interface MemoryStatus {
  enabled: boolean;
  file: string;
  open: boolean;
  rows: number | undefined;
  oldest: number | undefined;
  newest: number | undefined;
  /** Session-start blocks built, and how long the query took (µs). */
  contextMicros: ReturnType<Reservoir["summary"]>;
  timeouts: number;
  sources: FeedSourceStatus[];
  lastError: string | undefined;
}

export interface ContextCall {
  agentId: string;
  sessionKey: string | undefined;
  prompt: string | undefined;
}

export interface SearchCall {
  agentId: string;
  sessionKey: string | undefined;
  match: string;
  /** The query as typed, read for a date it names ("in May 2023"); cut to MAX_DATE_TEXT. */
  text?: string;
  since?: number;
  until?: number;
  types?: string[];
  session?: string;
  limit: number;
}

/**
 * Event-sourced memory for the gateway process: the projection (written here, from the gateway's own
 * events as they are recorded and from the stream), the query worker (reads), and the settings of each
 * agent. Hangs off the process-wide runtime like the event store.
 */
export class MemoryService {
  private readonly cfg: NatsPluginConfig;
  private readonly log: Logger;
  private readonly path: string;
  private readonly events: EventStore | undefined;
  private readonly link: NatsLink;
  private projection: Projection | undefined;
  private feed: ProjectionFeed | undefined;
  private queries: MemoryQueries | undefined;
  private untap: (() => void) | undefined;
  private writer: ProjectionWriter | undefined;
  private readonly types: Set<string>;
  private readonly contextMicros = new Reservoir(1024);
  private timeouts = 0;
  private lastError: string | undefined;
  /** What each running session carries (never shown back to it). */
  private readonly turns = new CarriedTurns();

  constructor(opts: { cfg: NatsPluginConfig; stateDir: string; events: EventStore | undefined; link: NatsLink; logger: Logger }) {
    this.cfg = opts.cfg;
    this.log = opts.logger;
    this.path = join(opts.stateDir, "memory.sqlite");
    this.events = opts.events;
    this.link = opts.link;
    this.types = new Set([...opts.cfg.memory.types, ...NOTE_TYPES]);
  }

  settings(agentId: string): AgentMemory {
    return agentMemory(this.cfg, agentId);
  }

  /** The streams memory reads: the event store's routes, or the configured default stream when the store is off. */
  private routes(): ReadRoute[] {
    if (this.events) return this.events.readRoutes();
    return [{ label: "default", link: this.link, stream: this.cfg.events.streamName, prefix: this.cfg.events.subjectPrefix, agents: "*" }];
  }

  /** Opens the projection and starts feeding it. Never throws: memory off is one log line, the gateway runs on. */
  start(): void {
    if (this.projection) return;
    try {
      this.projection = Projection.open(this.path);
    } catch (err) {
      this.lastError = `cannot open the memory projection ${this.path}: ${errorMessage(err)}`;
      this.log.error(`memory: ${this.lastError}; sessions start without memory until the gateway restarts`);
      return;
    }
    const writer = new ProjectionWriter(this.projection, {
      types: this.types,
      retentionHours: this.cfg.events.retention.maxAgeHours,
      log: this.log,
      onError: (message) => (this.lastError = message),
    });
    writer.start();
    this.writer = writer;
    this.untap = this.events?.tap((event) => writer.add(event));
    this.feed = new ProjectionFeed(this.projection, feedSources(this.routes(), [...this.types]), this.log);
    this.feed.start();
    this.queries = new MemoryQueries(this.path, this.log);
  }

  /** See CarriedTurns.noteInjected. */
  noteInjected(sessionKey: string | undefined, texts: readonly string[]): void {
    this.turns.noteInjected(sessionKey, texts);
  }

  /** See CarriedTurns.noteTurn. */
  noteTurn(sessionKey: string | undefined, prompt: string | undefined, firstTurn: boolean, now = Date.now()): string[] {
    return this.turns.noteTurn(sessionKey, prompt, firstTurn, now);
  }

  private exclusion(sessionKey: string | undefined): Exclusion | undefined {
    return this.turns.exclusion(sessionKey);
  }

  /** Why the agent's connection is down, or undefined when it is up. */
  private linkDown(agentId: string): string | undefined {
    const routes = this.routes();
    const route = routes.find((r) => r.agents !== "*" && r.agents.includes(agentId)) ?? routes[0];
    if (!route || route.link.isConnected) return undefined;
    return route.link.status().lastError ?? "not connected";
  }

  /**
   * The session-start block for one session, or undefined. Bounded by memory.timeoutMs; every reason
   * for not giving a block (timeout, error) is one log line, and the turn goes ahead.
   */
  async context(call: ContextCall): Promise<string | undefined> {
    const s = this.settings(call.agentId);
    if (!s.enabled) return undefined;
    const where = call.sessionKey ?? `agent ${call.agentId}`;
    if (!this.queries || !this.projection) {
      this.log.warn(`memory: no context for ${where}: ${this.lastError ?? "memory is not running"}; the turn goes ahead without it`);
      return undefined;
    }
    const visibility = visibilityFor(s, call.sessionKey);
    const t0 = performance.now();
    try {
      const since = Number.isFinite(s.lookbackMs) ? Date.now() - s.lookbackMs : 0;
      const res = await this.queries.context(
        { agentId: call.agentId, scope: s.scope, visibility, types: s.types, since, maxEvents: s.maxEvents, maxChars: s.maxChars, notesPath: LONGTERM_NOTE_PATH, prompt: call.prompt, exclude: this.exclusion(call.sessionKey), searchHint: s.search.enabled, now: Date.now() },
        s.timeoutMs,
      );
      this.contextMicros.add((performance.now() - t0) * 1000);
      const down = this.linkDown(call.agentId);
      if (down) {
        this.log.warn(`memory: NATS is down (${down}); context for ${where} comes from the local projection (${res.rows} event(s); events other gateways recorded since are missing)`);
      }
      return res.block;
    } catch (err) {
      if (err instanceof QueryTimeoutError) this.timeouts++;
      this.log.warn(`memory: no context for ${where}: ${errorMessage(err)}${err instanceof QueryTimeoutError ? " (memory.timeoutMs)" : ""}; the turn goes ahead without it`);
      return undefined;
    }
  }

  /** Ranked search within the caller's scope. Throws (the tool turns it into a result) on timeout or error. */
  async search(call: SearchCall): Promise<RankedHit[]> {
    const s = this.settings(call.agentId);
    if (!this.queries) throw new Error(this.lastError ?? "memory is not running");
    const visibility = visibilityFor(s, call.sessionKey);
    return this.queries.search({ visibility, match: call.match, text: call.text?.slice(0, MAX_DATE_TEXT), since: call.since, until: call.until, types: call.types, session: call.session, exclude: this.exclusion(call.sessionKey), limit: call.limit, now: Date.now() }, Math.max(s.timeoutMs, SEARCH_MIN_TIMEOUT_MS));
  }

  /** One event by id within the caller's scope (null when it is not there or not visible). */
  async get(call: { agentId: string; sessionKey: string | undefined; id: string }): Promise<MemoryRow | null> {
    const s = this.settings(call.agentId);
    if (!this.queries) throw new Error(this.lastError ?? "memory is not running");
    return this.queries.get({ visibility: visibilityFor(s, call.sessionKey), id: call.id }, Math.max(s.timeoutMs, SEARCH_MIN_TIMEOUT_MS));
  }

  /** The agent a hook or tool context belongs to. */
  static agentOf(ctx: { agentId?: string; sessionKey?: string }): string | undefined {
    return ctx.agentId ?? agentOfSessionKey(ctx.sessionKey);
  }

  /** Recall (the context search before each turn) latency since start, as histogram buckets (metrics). */
  recallLatency(): BucketCounts {
    return this.contextMicros.buckets();
  }

  status(): MemoryStatus {
    let stats: { rows: number; oldest: number | undefined; newest: number | undefined } | undefined;
    try {
      stats = this.projection?.stats();
    } catch (err) {
      this.lastError = errorMessage(err);
    }
    return {
      enabled: true,
      file: this.path,
      open: this.projection !== undefined,
      rows: stats?.rows,
      oldest: stats?.oldest,
      newest: stats?.newest,
      contextMicros: this.contextMicros.summary(),
      timeouts: this.timeouts,
      sources: this.feed?.status() ?? [],
      lastError: this.lastError,
    };
  }

  async stop(): Promise<void> {
    this.untap?.();
    await this.feed?.stop();
    await this.queries?.stop();
    this.writer?.stop();
    this.writer = undefined;
    this.projection?.close();
    this.projection = undefined;
  }
}

