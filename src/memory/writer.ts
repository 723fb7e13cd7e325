import type { EventEnvelope } from "../events/envelope.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import type { Projection } from "./projection.ts";
import { rowOf, type MemoryRow } from "./rows.ts";

const PRUNE_EVERY_MS = 3_600_000;

export interface WriterOptions {
  /** The event types memory keeps. */
  types: ReadonlySet<string>;
  /** events.retention.maxAgeHours: rows older than the stream keeps are pruned (0: never). */
  retentionHours: number;
  log: Logger;
  /** A failed write, for the service's status. */
  onError: (message: string) => void;
}

/**
 * The projection's local writer: the gateway's own events go in as they are recorded (batched off the
 * agent's path: no wait for NATS, and none needed while it is down), and rows older than the stream
 * keeps leave on a schedule. The stream's feed (feed.ts) is the other writer; rows are keyed by event
 * id, so what both bring is stored once.
 */
export class ProjectionWriter {
  private pending: MemoryRow[] = [];
  private flushQueued = false;
  private pruning = false;
  private pruneTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly projection: Projection;
  private readonly opts: WriterOptions;

  constructor(projection: Projection, opts: WriterOptions) {
    this.projection = projection;
    this.opts = opts;
  }

  start(): void {
    void this.prune();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  /** One recorded event (the event store's tap). */
  add(event: EventEnvelope): void {
    if (this.stopped || !this.opts.types.has(event.type)) return;
    const r = rowOf(event);
    if (!r.ok) return;
    this.pending.push(r.row);
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    const rows = this.pending;
    this.pending = [];
    if (rows.length === 0) return;
    try {
      this.projection.add(rows);
    } catch (err) {
      const message = `cannot write to the memory projection: ${errorMessage(err)}`;
      this.opts.onError(message);
      this.opts.log.warn(`memory: ${message} (${rows.length} event(s) come back from the stream)`);
    }
  }

  /**
   * Rows older than the stream keeps (events.retention.maxAgeHours) leave the projection too. In bounded
   * slices with a turn of the event loop between them (Projection.pruneSlice): one pass over a large
   * projection used to be one synchronous delete of up to 10,000 rows at a time, stalling every agent's
   * turn and hook for as long. One pass at a time; a stop ends it between two slices.
   */
  private async prune(): Promise<void> {
    const hours = this.opts.retentionHours;
    const p = this.projection;
    if (hours <= 0 || this.pruning) return;
    this.pruning = true;
    let removed = 0;
    try {
      const before = Date.now() - hours * 3_600_000;
      for (let from = 0, top = p.topRowId(); from < top && !this.stopped; ) {
        const slice = p.pruneSlice(before, from, top);
        removed += slice.removed;
        from = slice.next;
        await new Promise((r) => setImmediate(r));
      }
      if (removed > 0) this.opts.log.info(`memory: pruned ${removed} event(s) older than ${hours} h (events.retention.maxAgeHours)`);
    } catch (err) {
      this.opts.log.warn(`memory: pruning failed after ${removed} event(s): ${errorMessage(err)}`);
    } finally {
      this.pruning = false;
    }
  }

  /** Writes what is still batched and ends the schedule; the projection is closed by its owner after. */
  stop(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.flush();
    this.stopped = true;
  }
}
