import type { NatsConnection } from "@nats-io/transport-node";
import { Reservoir } from "../shared/reservoir.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { AckPublisher, type AckResult } from "./ack-publisher.ts";
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
  at: number;
  /** Acked, or given up on for good. */
  done: boolean;
}

const WATCH_INTERVAL_MS = 100;
const DELETE_EVERY = 256;
const MIN_BACKOFF_MS = 100;

/**
 * Drains one spool lane into JetStream over one connection: takes rows in seq order, keeps up to
 * `inFlight` publishes awaiting their ack (each with Nats-Msg-Id = event id), and deletes rows once
 * everything up to them is acked.
 *
 * Order: rows are sent in seq order on one connection, so the stream stores them in that order.
 * After a failed publish (error ack, or no ack within publishTimeoutMs) nothing newer is sent; once
 * the publishes already sent have settled or timed out, sending resumes from the oldest unacked
 * row, and re-sends inside the duplicate window are absorbed by the server. When the connection
 * drops, the window is written off at once (those publishes died with the socket) and sending
 * resumes from the oldest unacked row after the reconnect. Acks of written-off publishes are
 * counted but change nothing.
 */
export class LaneDrainer {
  readonly lane: string;
  readonly stats: DrainStats = { published: 0, duplicates: 0, failures: 0, rejected: 0, lastError: undefined };
  /** Publish → JetStream ack of each acked event, µs (metrics). */
  readonly ackMicros = new Reservoir(256);
  private readonly spool: Spool;
  private readonly link: DrainLink;
  private readonly log: Logger;
  private readonly opts: DrainOptions;
  private readonly batchSize: number;
  private readonly publisher: AckPublisher;

  private epoch = -1;
  private generation = 0;
  /** Rows loaded for sending (read from the file, or handed over by offer()), oldest first. */
  private buffer: SpoolRow[] = [];
  private bufferPos = 0;
  /** False once a read found the end of the lane and every later row was offered: no need to query the file. */
  private unreadInFile = true;
  /** Seq of the last row taken for sending in this generation. */
  private cursor = 0;
  /** Every row with seq <= ackedThrough is acked (or given up on). */
  private ackedThrough = 0;
  private deletedThrough = 0;
  /** Publishes of this generation, in send order; sentHead is the oldest not yet done. */
  private sent: Sent[] = [];
  private sentHead = 0;
  private bySeq = new Map<number, Sent>();
  private inFlight = 0;
  private lastSentAt = 0;
  private failed = false;
  private backoffMs = MIN_BACKOFF_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private pumpQueued = false;
  private failureStreak = 0;
  private stopping = false;
  private stopped = false;
  private readonly watch: NodeJS.Timeout;

  constructor(spool: Spool, lane: string, link: DrainLink, log: Logger, opts: DrainOptions) {
    this.spool = spool;
    this.lane = lane;
    this.link = link;
    this.log = log;
    this.opts = opts;
    this.batchSize = Math.max(64, Math.min(2048, opts.inFlight * 2));
    this.publisher = new AckPublisher((token, result) => this.onResult(token, result));
    this.watch = setInterval(() => this.onWatch(), WATCH_INTERVAL_MS);
    this.watch.unref();
  }

  /** Failed publish attempts since the last acked one (what nats-eventstore called publishFailures). */
  get consecutiveFailures(): number {
    return this.failureStreak;
  }

  get pending(): number {
    return this.inFlight;
  }

  /**
   * A row was just appended. When everything before it is already loaded, it is queued from memory
   * (no read back from the file); otherwise it is left for the next read. Publishing is scheduled
   * for after the caller's synchronous work.
   */
  offer(row: SpoolRow): void {
    const lastKnown = this.bufferPos < this.buffer.length ? this.buffer[this.buffer.length - 1].seq : this.cursor;
    if (!this.unreadInFile && row.seq === lastKnown + 1 && this.buffer.length - this.bufferPos < this.batchSize) {
      if (this.bufferPos === this.buffer.length) {
        this.buffer = [];
        this.bufferPos = 0;
      }
      this.buffer.push(row);
    } else {
      this.unreadInFile = true;
    }
    this.notify();
  }

  /** Publish soon (after the caller's synchronous work). */
  notify(): void {
    if (this.pumpQueued || this.stopping) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Forgets loaded rows not yet sent (e.g. the spool dropped some); they are read again from the file. */
  reload(): void {
    this.buffer = [];
    this.bufferPos = 0;
    this.unreadInFile = true;
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
    this.stopping = true; // send nothing more
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline && this.link.isConnected) await new Promise((r) => setTimeout(r, 10));
    this.stopped = true;
    clearInterval(this.watch);
    this.flushDeletes();
    this.publisher.close();
  }

  private currentEpoch(): number {
    const s = this.link.status();
    return s.connects + s.disconnects;
  }

  private onWatch(): void {
    if (this.stopping) return;
    const epoch = this.currentEpoch();
    if (epoch !== this.epoch) {
      if (this.inFlight > 0 || this.failed) this.rewind(); // those publishes died with the old connection
      this.epoch = epoch;
    }
    const now = Date.now();
    if (!this.failed && this.inFlight > 0 && now - this.sent[this.sentHead].at > this.opts.publishTimeoutMs) {
      this.fail(`no publish ack within ${this.opts.publishTimeoutMs} ms`);
    }
    if (this.failed && !this.retryTimer && (this.inFlight === 0 || now - this.lastSentAt > this.opts.publishTimeoutMs)) {
      this.stats.failures += this.inFlight; // timed out
      this.retryLater();
    }
    if (this.inFlight === 0) {
      this.flushDeletes();
      // Idle with rows left: they were appended without offer(); read them from the file.
      if (this.bufferPos >= this.buffer.length && this.spool.depth(this.lane) > 0) this.unreadInFile = true;
    }
    this.pump();
  }

  /** Starts a new generation from the oldest unacked row; results of older generations change nothing. */
  private rewind(): void {
    this.flushDeletes();
    this.generation++;
    this.inFlight = 0;
    this.failed = false;
    this.sent = [];
    this.sentHead = 0;
    this.bySeq = new Map();
    this.reload();
    this.cursor = this.ackedThrough;
  }

  private nextRow(): SpoolRow | undefined {
    if (this.bufferPos >= this.buffer.length) {
      if (!this.unreadInFile) return undefined;
      this.buffer = this.spool.read(this.lane, this.cursor, this.batchSize);
      this.bufferPos = 0;
      if (this.buffer.length < this.batchSize) this.unreadInFile = false;
      if (this.buffer.length === 0) return undefined;
    }
    const row = this.buffer[this.bufferPos++];
    this.cursor = row.seq;
    return row;
  }

  private pump(): void {
    if (this.stopping || this.failed || this.retryTimer || this.spool.isClosed) return;
    const nc = this.link.current;
    if (!nc || !this.link.isConnected || !this.opts.ready()) return;
    const epoch = this.currentEpoch();
    if (epoch !== this.epoch) {
      if (this.inFlight > 0) this.rewind();
      this.epoch = epoch;
    }
    while (this.inFlight < this.opts.inFlight && !this.failed) {
      const row = this.nextRow();
      if (!row) break;
      this.send(nc, row);
    }
    if (this.inFlight === 0) this.flushDeletes();
  }

  private send(nc: NatsConnection, row: SpoolRow): void {
    const entry: Sent = { seq: row.seq, at: Date.now(), done: false };
    this.sent.push(entry);
    this.bySeq.set(row.seq, entry);
    this.inFlight++;
    this.lastSentAt = entry.at;
    try {
      this.publisher.publish(nc, row.subject, row.data, row.id, `${this.generation}.${row.seq}`);
    } catch (err) {
      const message = errorMessage(err);
      this.settleFailure(entry, row.id, { error: message, permanent: /max_payload/.test(message) });
    }
  }

  private onResult(token: string, result: AckResult): void {
    if (result.ok) {
      if (result.duplicate) this.stats.duplicates++;
      else this.stats.published++;
    }
    const dot = token.indexOf(".");
    if (this.stopped || Number(token.slice(0, dot)) !== this.generation) return;
    const entry = this.bySeq.get(Number(token.slice(dot + 1)));
    if (!entry || entry.done) return;
    if (result.ok) {
      this.ackMicros.add((Date.now() - entry.at) * 1000);
      if (this.failureStreak > 0) {
        this.log.info(`events: publishing on lane "${this.lane}" resumed after ${this.failureStreak} failed attempt(s)`);
        this.failureStreak = 0;
      }
      this.backoffMs = MIN_BACKOFF_MS;
      this.settle(entry);
    } else {
      this.settleFailure(entry, undefined, result);
    }
  }

  private settleFailure(entry: Sent, id: string | undefined, result: { error: string; permanent: boolean }): void {
    if (result.permanent) {
      this.stats.rejected++;
      const message = `event ${id ?? `#${entry.seq}`} on lane "${this.lane}" rejected by the server: ${result.error}; dropped`;
      this.stats.lastError = message;
      this.log.warn(`events: ${message}`);
      this.opts.onError?.(message);
      this.settle(entry);
      return;
    }
    this.stats.failures++;
    this.inFlight--;
    this.bySeq.delete(entry.seq);
    this.fail(result.error);
    if (this.inFlight === 0 && !this.retryTimer && !this.stopping) this.retryLater();
  }

  private fail(error: string): void {
    this.stats.lastError = error;
    this.opts.onError?.(`publish on lane "${this.lane}" failed: ${error}`);
    if (this.failureStreak++ === 0) this.log.warn(`events: publish on lane "${this.lane}" failed (${error}); retrying from the oldest unacked event`);
    this.failed = true;
  }

  private settle(entry: Sent): void {
    this.inFlight--;
    entry.done = true;
    this.bySeq.delete(entry.seq);
    while (this.sentHead < this.sent.length && this.sent[this.sentHead].done) {
      this.ackedThrough = this.sent[this.sentHead].seq;
      this.sentHead++;
    }
    if (this.sentHead > 4096) {
      this.sent = this.sent.slice(this.sentHead);
      this.sentHead = 0;
    }
    if (this.ackedThrough - this.deletedThrough >= DELETE_EVERY) this.flushDeletes();
    if (this.failed) {
      if (this.inFlight === 0 && !this.retryTimer && !this.stopping) this.retryLater();
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
