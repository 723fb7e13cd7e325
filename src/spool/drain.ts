import { JetStreamApiError, jetstream, type JetStreamClient, type PubAck } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { errorMessage, type Logger } from "../shared/logger.ts";
import type { Spool, SpoolRow } from "./spool.ts";

/** The part of NatsLink the drainer needs. */
export interface DrainLink {
  readonly current: NatsConnection | undefined;
  readonly isConnected: boolean;
  status(): { connects: number; disconnects: number };
}

export interface DrainOptions {
  /** Publishes awaiting their JetStream ack at once (events.spool.inFlight). */
  inFlight: number;
  /** How long one publish waits for its ack before it counts as failed. */
  publishTimeoutMs: number;
  /** Upper bound of the retry pause after a failed publish (it doubles from 100 ms). */
  maxBackoffMs: number;
  /** True once the lane may publish (its streams were provisioned on the current connection). */
  ready: () => boolean;
  /** Told about every failed publish (for a "last error" status line). */
  onError?: (message: string) => void;
}

export interface DrainStats {
  published: number;
  duplicates: number;
  failures: number;
  /** Rows given up on because the server can never take them (too large). */
  rejected: number;
  lastError: string | undefined;
}

interface Sent {
  seq: number;
  acked: boolean;
}

const WATCH_INTERVAL_MS = 100;
const DELETE_EVERY = 256;
const MIN_BACKOFF_MS = 100;
const STREAM_MSG_TOO_LARGE = 10054;

function isPermanent(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code === STREAM_MSG_TOO_LARGE;
  return /max_payload/.test(errorMessage(err));
}

/**
 * Drains one spool lane into JetStream over one connection: reads rows in seq order, keeps up to
 * `inFlight` publishes awaiting their ack (each with Nats-Msg-Id = event id), and deletes rows once
 * everything up to them is acked.
 *
 * Order: rows are sent in seq order on one connection, so the stream stores them in that order.
 * On a failed publish nothing newer is sent; once the window has settled, sending resumes from the
 * oldest unacked row (re-sends inside the duplicate window are absorbed by the server). When the
 * connection drops, the whole window is written off at once (those publishes died with the socket)
 * and sending resumes from the oldest unacked row after the reconnect.
 */
export class LaneDrainer {
  readonly lane: string;
  readonly stats: DrainStats = { published: 0, duplicates: 0, failures: 0, rejected: 0, lastError: undefined };
  private readonly spool: Spool;
  private readonly link: DrainLink;
  private readonly log: Logger;
  private readonly opts: DrainOptions;
  private readonly batchSize: number;

  private js: JetStreamClient | undefined;
  private jsConn: NatsConnection | undefined;
  private epoch = -1;
  private generation = 0;
  private buffer: SpoolRow[] = [];
  private bufferPos = 0;
  /** Highest seq loaded for sending in this generation. */
  private cursor = 0;
  /** Every row with seq <= ackedThrough is acked (or given up on). */
  private ackedThrough = 0;
  private deletedThrough = 0;
  private sent: Sent[] = [];
  private sentHead = 0;
  private inFlight = 0;
  private failed = false;
  private backoffMs = MIN_BACKOFF_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private pumpQueued = false;
  private failureStreak = 0;
  private stopped = false;
  private readonly watch: NodeJS.Timeout;

  constructor(spool: Spool, lane: string, link: DrainLink, log: Logger, opts: DrainOptions) {
    this.spool = spool;
    this.lane = lane;
    this.link = link;
    this.log = log;
    this.opts = opts;
    this.batchSize = Math.max(64, Math.min(2048, opts.inFlight * 2));
    this.watch = setInterval(() => this.onWatch(), WATCH_INTERVAL_MS);
    this.watch.unref();
  }

  get pending(): number {
    return this.inFlight;
  }

  /** A row was appended: publish it soon (after the caller's synchronous work). */
  notify(): void {
    if (this.pumpQueued || this.stopped) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Deletes the rows acked so far (normally batched). */
  flushDeletes(): void {
    if (this.ackedThrough <= this.deletedThrough || this.spool.isClosed) return;
    this.spool.removeThrough(this.lane, this.ackedThrough);
    this.deletedThrough = this.ackedThrough;
    this.spool.maintain();
  }

  /** Stops sending, waits up to graceMs for the acks in flight, deletes what was acked. */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    clearInterval(this.watch);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.flushDeletes();
  }

  private currentEpoch(): number {
    const s = this.link.status();
    return s.connects + s.disconnects;
  }

  private jetstreamFor(nc: NatsConnection): JetStreamClient {
    if (this.jsConn !== nc || !this.js) {
      this.js = jetstream(nc, { timeout: this.opts.publishTimeoutMs });
      this.jsConn = nc;
    }
    return this.js;
  }

  private onWatch(): void {
    if (this.stopped) return;
    const epoch = this.currentEpoch();
    if (epoch !== this.epoch) {
      if (this.inFlight > 0 || this.failed) this.rewind(); // those publishes died with the old connection
      this.epoch = epoch;
    }
    if (this.inFlight === 0) this.flushDeletes();
    if (!this.failed && !this.retryTimer) this.pump();
  }

  /** Starts a new generation from the oldest unacked row; completions of older generations are ignored. */
  private rewind(): void {
    this.flushDeletes();
    this.generation++;
    this.inFlight = 0;
    this.failed = false;
    this.sent = [];
    this.sentHead = 0;
    this.buffer = [];
    this.bufferPos = 0;
    this.cursor = this.ackedThrough;
  }

  private nextRow(): SpoolRow | undefined {
    if (this.bufferPos >= this.buffer.length) {
      this.buffer = this.spool.read(this.lane, this.cursor, this.batchSize);
      this.bufferPos = 0;
      if (this.buffer.length === 0) return undefined;
    }
    const row = this.buffer[this.bufferPos++];
    this.cursor = row.seq;
    return row;
  }

  private pump(): void {
    if (this.stopped || this.failed || this.retryTimer || this.spool.isClosed) return;
    const nc = this.link.current;
    if (!nc || !this.link.isConnected || !this.opts.ready()) return;
    const epoch = this.currentEpoch();
    if (epoch !== this.epoch) {
      if (this.inFlight > 0) this.rewind();
      this.epoch = epoch;
    }
    const js = this.jetstreamFor(nc);
    while (this.inFlight < this.opts.inFlight) {
      const row = this.nextRow();
      if (!row) break;
      this.send(js, row);
    }
    if (this.inFlight === 0) this.flushDeletes();
  }

  private send(js: JetStreamClient, row: SpoolRow): void {
    const entry: Sent = { seq: row.seq, acked: false };
    const generation = this.generation;
    this.sent.push(entry);
    this.inFlight++;
    js.publish(row.subject, row.data, { msgID: row.id, timeout: this.opts.publishTimeoutMs }).then(
      (ack) => this.onAck(generation, entry, ack),
      (err: unknown) => this.onError(generation, entry, row, err),
    );
  }

  private onAck(generation: number, entry: Sent, ack: PubAck): void {
    if (ack.duplicate) this.stats.duplicates++;
    else this.stats.published++;
    if (generation !== this.generation || this.stopped) return;
    if (this.failureStreak > 0) {
      this.log.info(`events: publishing on lane "${this.lane}" resumed after ${this.failureStreak} failed attempt(s)`);
      this.failureStreak = 0;
    }
    this.backoffMs = MIN_BACKOFF_MS;
    this.settle(entry);
  }

  private onError(generation: number, entry: Sent, row: SpoolRow, err: unknown): void {
    if (generation !== this.generation || this.stopped) return;
    if (isPermanent(err)) {
      this.stats.rejected++;
      this.stats.lastError = `event ${row.id} (${row.size} bytes) rejected by the server: ${errorMessage(err)}`;
      this.log.warn(`events: ${this.stats.lastError}; dropped`);
      this.opts.onError?.(this.stats.lastError);
      this.settle(entry);
      return;
    }
    this.stats.failures++;
    this.stats.lastError = errorMessage(err);
    this.opts.onError?.(`publish on lane "${this.lane}" failed: ${this.stats.lastError}`);
    if (this.failureStreak++ === 0) this.log.warn(`events: publish on lane "${this.lane}" failed (${this.stats.lastError}); retrying from the oldest unacked event`);
    this.inFlight--;
    this.failed = true;
    if (this.inFlight === 0) this.retryLater();
  }

  private settle(entry: Sent): void {
    this.inFlight--;
    entry.acked = true;
    while (this.sentHead < this.sent.length && this.sent[this.sentHead].acked) {
      this.ackedThrough = this.sent[this.sentHead].seq;
      this.sentHead++;
    }
    if (this.sentHead > 4096) {
      this.sent = this.sent.slice(this.sentHead);
      this.sentHead = 0;
    }
    if (this.ackedThrough - this.deletedThrough >= DELETE_EVERY) this.flushDeletes();
    if (this.failed) {
      if (this.inFlight === 0) this.retryLater();
      return;
    }
    this.pump();
  }

  private retryLater(): void {
    this.rewind();
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.pump();
    }, delay);
    this.retryTimer.unref();
  }
}
