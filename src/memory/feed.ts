import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { NatsLink } from "../connection/link.ts";
import { readEvents, type ReadEvent } from "../events/reader.ts";
import { eventFilter } from "../shared/subjects.ts";
import type { ReadRoute } from "../events/store.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import type { Projection } from "./projection.ts";
import { rowOf, type MemoryRow } from "./rows.ts";
import { newerOnSubject, STALL_WATCH, type StallWatch } from "./feed-watch.ts";
import { jsDomain } from "../connection/domain.ts";

/** One subject of one stream, read into the projection from its cursor on. */
export interface FeedSource {
  /** Cursor key: connection label, stream and subject. */
  key: string;
  label: string;
  link: NatsLink;
  stream: string;
  prefix: string;
  subject: string;
}

export interface FeedSourceStatus {
  subject: string;
  stream: string;
  connection: string;
  /** Last stream sequence in the projection. */
  seq: number;
  reading: boolean;
  rows: number;
  problems: number;
  lastError: string | undefined;
}

/** The subjects memory reads: one per event type (nats-server 2.9 takes one filter per consumer). */
export function feedSources(routes: readonly ReadRoute[], types: readonly string[]): FeedSource[] {
  const out: FeedSource[] = [];
  for (const route of routes) {
    const subjects = route.agents === "*" ? types.map((t) => eventFilter(route.prefix, undefined, t)) : route.agents.flatMap((a) => types.map((t) => eventFilter(route.prefix, a, t)));
    for (const subject of subjects) out.push({ key: `${route.label}|${route.stream}|${subject}`, label: route.label, link: route.link, stream: route.stream, prefix: route.prefix, subject });
  }
  return out;
}

const BATCH_ROWS = 256;
const FLUSH_MS = 20;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

interface Run {
  nc: NatsConnection;
  abort: AbortController;
  /** When this run last took an event (or started following). */
  lastEvent: number;
  checking: boolean;
}

/**
 * Keeps the projection up to date from the stream: a follow-mode ordered consumer per source, started
 * from the source's cursor (so a restart resumes, and an empty projection replays the stream). The
 * cursor moves in the same SQLite transaction as the rows it covers. Uses the plugin's connections.
 */
export class ProjectionFeed {
  private readonly projection: Projection;
  private readonly log: Logger;
  private readonly sources: FeedSource[];
  private readonly runs = new Map<string, Run>();
  private readonly state = new Map<string, { rows: number; problems: number; lastError: string | undefined; reading: boolean }>();
  private readonly unsubscribe: Array<() => void> = [];
  private stopped = false;
  private lastProblemLog = 0;
  /** Streams already said to be missing: a first start waits for the event store to create its stream, quietly. */
  private readonly waitingFor = new Set<string>();
  private watch: NodeJS.Timeout | undefined;

  private readonly watchOpts: StallWatch;

  constructor(projection: Projection, sources: FeedSource[], log: Logger, watch: StallWatch = STALL_WATCH) {
    this.projection = projection;
    this.watchOpts = watch;
    this.sources = sources;
    this.log = log;
    for (const s of sources) this.state.set(s.key, { rows: 0, problems: 0, lastError: undefined, reading: false });
  }

  start(): void {
    this.watch = setInterval(() => this.findStalled(), this.watchOpts.everyMs);
    this.watch.unref();
    const byLink = new Map<NatsLink, FeedSource[]>();
    for (const s of this.sources) byLink.set(s.link, [...(byLink.get(s.link) ?? []), s]);
    for (const [link, sources] of byLink) {
      this.unsubscribe.push(
        link.onConnect((nc) => {
          for (const s of sources) this.ensureRun(s, nc);
        }),
      );
    }
  }

  /** One run per source and connection: a reconnect keeps the same connection object (the ordered consumer recovers itself). */
  private ensureRun(source: FeedSource, nc: NatsConnection): void {
    const current = this.runs.get(source.key);
    if (current && current.nc === nc && !current.abort.signal.aborted) return;
    current?.abort.abort();
    const run: Run = { nc, abort: new AbortController(), lastEvent: Date.now(), checking: false };
    this.runs.set(source.key, run);
    void this.loop(source, run);
  }

  private async loop(source: FeedSource, run: Run): Promise<void> {
    let retryMs = RETRY_MIN_MS;
    const st = this.state.get(source.key);
    while (!this.stopped && !run.abort.signal.aborted && !run.nc.isClosed()) {
      try {
        const from = await this.startSeq(source, run.nc);
        if (st) {
          st.reading = true;
          st.lastError = undefined;
        }
        run.lastEvent = Date.now();
        await this.follow(source, run, from);
        retryMs = RETRY_MIN_MS;
      } catch (err) {
        const message = errorMessage(err);
        if (/stream not found/i.test(message)) {
          // Not a fault: on a first start the event store creates the stream moments after memory starts.
          if (!this.waitingFor.has(source.stream)) {
            this.waitingFor.add(source.stream);
            this.log.info(`memory: stream "${source.stream}" does not exist yet (${source.label} connection); reading starts once it does`);
          }
          if (st) st.reading = false;
          if (this.stopped || run.abort.signal.aborted) break;
          await new Promise((r) => setTimeout(r, RETRY_MIN_MS).unref());
          continue;
        }
        if (st && st.lastError !== message) this.log.warn(`memory: reading ${source.subject} from stream "${source.stream}" (${source.label} connection): ${message}; retrying`);
        if (st) {
          st.lastError = message;
          st.reading = false;
        }
      }
      if (this.stopped || run.abort.signal.aborted) break;
      await new Promise((r) => setTimeout(r, retryMs).unref());
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    }
    if (st) st.reading = false;
  }

  /** The cursor + 1, or 1 when the stream was recreated since (its last sequence is behind the cursor). */
  private async startSeq(source: FeedSource, nc: NatsConnection): Promise<number> {
    const cursor = this.projection.cursor(source.key);
    if (cursor === 0) return 1;
    const jsm = await jetstreamManager(nc, { ...jsDomain(nc), timeout: 5000, checkAPI: false });
    const info = await jsm.streams.info(source.stream);
    if (info.state.last_seq < cursor) {
      this.log.info(`memory: stream "${source.stream}" is behind the projection's cursor for ${source.subject} (recreated?); reading it again from the start`);
      this.projection.setCursor(source.key, 0);
      return 1;
    }
    return cursor + 1;
  }

  private async follow(source: FeedSource, run: Run, from: number): Promise<void> {
    let batch: ReadEvent[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (batch.length === 0) return;
      const items = batch;
      batch = [];
      this.ingest(source, items);
    };
    try {
      for await (const e of readEvents(run.nc, { stream: source.stream, subjects: [source.subject], startSeq: from, follow: true, signal: run.abort.signal, batch: BATCH_ROWS })) {
        run.lastEvent = Date.now();
        batch.push(e);
        if (batch.length >= BATCH_ROWS) flush();
        else timer ??= setTimeout(flush, FLUSH_MS);
      }
    } finally {
      flush();
    }
  }

  /**
   * A follow consumer can stop delivering without an error: seen once on a 3-node cluster under CPU load,
   * after the event stream's leader was SIGKILLed (one subject's ordered consumer stayed at seq 35 of 58
   * for minutes, the others kept up). A source quiet for `stallMs` is asked about: when the stream holds a
   * newer message on its subject than the projection's cursor, its consumer is replaced (one log line).
   * One small request per quiet source per look (feed-watch.ts); none while events flow.
   */
  private findStalled(): void {
    const now = Date.now();
    for (const source of this.sources) {
      const run = this.runs.get(source.key);
      const st = this.state.get(source.key);
      if (!run || run.checking || !st?.reading || run.abort.signal.aborted || now - run.lastEvent < this.watchOpts.stallMs) continue;
      run.checking = true;
      void newerOnSubject(run.nc, source, this.projection.cursor(source.key))
        .then((behind) => {
          if (behind === undefined || this.stopped || run.abort.signal.aborted) return;
          this.log.warn(`memory: reading ${source.subject} from stream "${source.stream}" (${source.label} connection) stopped at seq ${this.projection.cursor(source.key)} while the stream holds seq ${behind}; starting its consumer again`);
          run.abort.abort();
          this.ensureRun(source, run.nc);
        })
        .catch(() => undefined) // the next look tries again
        .finally(() => {
          run.checking = false;
          run.lastEvent = Date.now();
        });
    }
  }

  private ingest(source: FeedSource, items: ReadEvent[]): void {
    // After stop the projection may be closed; the cursor did not move, so these are read again next time.
    if (this.stopped) return;
    const st = this.state.get(source.key);
    const rows: MemoryRow[] = [];
    for (const item of items) {
      if (!item.event) {
        this.problem(st, `${source.subject} seq ${item.seq}: ${item.problem ?? "not an event"}`);
        continue;
      }
      const r = rowOf(item.event, { prefix: source.prefix, value: item.subject });
      if (r.ok) rows.push(r.row);
      else if (!r.skip) this.problem(st, r.problem);
    }
    const added = this.projection.add(rows, { source: source.key, seq: items[items.length - 1].seq });
    if (st) st.rows += added;
  }

  private problem(st: { problems: number } | undefined, message: string): void {
    if (st) st.problems++;
    const now = Date.now();
    if (now - this.lastProblemLog < 10_000) return;
    this.lastProblemLog = now;
    this.log.warn(`memory: skipped an event: ${message}`);
  }

  status(): FeedSourceStatus[] {
    return this.sources.map((s) => {
      const st = this.state.get(s.key);
      return { subject: s.subject, stream: s.stream, connection: s.label, seq: this.projection.cursor(s.key), reading: st?.reading ?? false, rows: st?.rows ?? 0, problems: st?.problems ?? 0, lastError: st?.lastError };
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watch) clearInterval(this.watch);
    for (const u of this.unsubscribe) u();
    for (const run of this.runs.values()) run.abort.abort();
    this.runs.clear();
  }
}
