import type { NatsConnection } from "@nats-io/transport-node";
import { Reservoir } from "../shared/reservoir.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { AckPublisher, type AckResult } from "./ack-publisher.ts";
import { LaneReader } from "./lane-reader.ts";
import { SendWindow, type Sent } from "./send-window.ts";
import type { DrainLink, DrainOptions, DrainStats } from "./drain-options.ts";
import type { Spool, SpoolRow } from "./spool.ts";

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
 *
 * Which row comes next is the LaneReader's (file or offered rows); which publishes await their acks and
 * how far the lane is acked, the SendWindow's; this class runs the loop, the failures and the deletes.
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
  private readonly publisher: AckPublisher;

  private readonly rows: LaneReader;
  private readonly window = new SendWindow();

  private epoch = -1;
  private generation = 0;
  private deletedThrough = 0;
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
    this.rows = new LaneReader(spool, lane, Math.max(64, Math.min(2048, opts.inFlight * 2)));
    this.publisher = new AckPublisher((token, result) => this.onResult(token, result));
    this.watch = setInterval(() => this.onWatch(), WATCH_INTERVAL_MS);
    this.watch.unref();
  }

  /** Failed publish attempts since the last acked one (what nats-eventstore called publishFailures). */
  get consecutiveFailures(): number {
    return this.failureStreak;
  }

  get pending(): number {
    return this.window.inFlight;
  }

  /**
   * A row was just appended. When everything before it is already loaded, it is queued from memory
   * (no read back from the file); otherwise it is left for the next read. Publishing is scheduled
   * for after the caller's synchronous work.
   */
  offer(row: SpoolRow): void {
    this.rows.offer(row);
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
    this.rows.reload();
  }

  /** Deletes the rows acked so far (normally batched). */
  flushDeletes(): void {
    const acked = this.window.ackedThrough;
    if (acked <= this.deletedThrough || this.spool.isClosed) return;
    this.spool.removeThrough(this.lane, acked);
    this.deletedThrough = acked;
    this.spool.maintain();
  }

  /** Stops sending, waits up to graceMs for the acks in flight, deletes what was acked. */
  async stop(graceMs = 2000): Promise<void> {
    this.stopping = true; // send nothing more
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const deadline = Date.now() + graceMs;
    while (this.window.inFlight > 0 && Date.now() < deadline && this.link.isConnected) await new Promise((r) => setTimeout(r, 10));
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
      if (this.window.inFlight > 0 || this.failed) this.rewind(); // those publishes died with the old connection
      this.epoch = epoch;
    }
    const now = Date.now();
    const w = this.window;
    if (!this.failed && w.inFlight > 0 && now - w.oldestAt() > this.opts.publishTimeoutMs) {
      this.fail(`no publish ack within ${this.opts.publishTimeoutMs} ms`);
    }
    if (this.failed && !this.retryTimer && (w.inFlight === 0 || now - w.lastSentAt > this.opts.publishTimeoutMs)) {
      this.stats.failures += w.inFlight; // timed out
      this.retryLater();
    }
    if (this.window.inFlight === 0) {
      this.flushDeletes();
      this.rows.noticeUnoffered();
    }
    this.pump();
  }

  /** Starts a new generation from the oldest unacked row; results of older generations change nothing. */
  private rewind(): void {
    this.flushDeletes();
    this.generation++;
    this.failed = false;
    this.window.reset();
    this.rows.restartAfter(this.window.ackedThrough);
  }

  private pump(): void {
    if (this.stopping || this.failed || this.retryTimer || this.spool.isClosed) return;
    const nc = this.link.current;
    if (!nc || !this.link.isConnected || !this.opts.ready()) return;
    const epoch = this.currentEpoch();
    if (epoch !== this.epoch) {
      if (this.window.inFlight > 0) this.rewind();
      this.epoch = epoch;
    }
    while (this.window.inFlight < this.opts.inFlight && !this.failed) {
      const row = this.rows.next();
      if (!row) break;
      this.send(nc, row);
    }
    if (this.window.inFlight === 0) this.flushDeletes();
  }

  private send(nc: NatsConnection, row: SpoolRow): void {
    const entry = this.window.add(row.seq);
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
    const entry = this.window.awaiting(Number(token.slice(dot + 1)));
    if (!entry) return;
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
    this.window.drop(entry);
    this.fail(result.error);
    if (this.window.inFlight === 0 && !this.retryTimer && !this.stopping) this.retryLater();
  }

  private fail(error: string): void {
    this.stats.lastError = error;
    this.opts.onError?.(`publish on lane "${this.lane}" failed: ${error}`);
    if (this.failureStreak++ === 0) this.log.warn(`events: publish on lane "${this.lane}" failed (${error}); retrying from the oldest unacked event`);
    this.failed = true;
  }

  private settle(entry: Sent): void {
    this.window.settle(entry);
    if (this.window.ackedThrough - this.deletedThrough >= DELETE_EVERY) this.flushDeletes();
    if (this.failed) {
      if (this.window.inFlight === 0 && !this.retryTimer && !this.stopping) this.retryLater();
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
