/** One publish of a send generation. */
export interface Sent {
  seq: number;
  at: number;
  /** Acked, or given up on for good. */
  done: boolean;
}

/** Compact the send list once this many settled publishes lie before its head. */
const COMPACT_AFTER = 4096;

/**
 * The publishes of one send generation awaiting their JetStream acks, in send order, and how far the
 * lane is acked: every row with seq <= ackedThrough is acked (or given up on), whatever order the acks
 * came in, so rows are deleted only behind an unbroken acked prefix.
 */
export class SendWindow {
  /** Every row with seq <= ackedThrough is acked (or given up on). */
  ackedThrough = 0;
  /** Publishes awaiting their ack. */
  inFlight = 0;
  /** When the newest publish was sent. */
  lastSentAt = 0;
  /** This generation's publishes in send order; head is the oldest not yet done. */
  private sent: Sent[] = [];
  private head = 0;
  private bySeq = new Map<number, Sent>();

  add(seq: number, at: number = Date.now()): Sent {
    const entry: Sent = { seq, at, done: false };
    this.sent.push(entry);
    this.bySeq.set(seq, entry);
    this.inFlight++;
    this.lastSentAt = at;
    return entry;
  }

  /** The publish of `seq` still awaiting its result, if any. */
  awaiting(seq: number): Sent | undefined {
    const entry = this.bySeq.get(seq);
    return entry && !entry.done ? entry : undefined;
  }

  /** When the oldest publish not yet done was sent (call with inFlight > 0). */
  oldestAt(): number {
    return this.sent[this.head].at;
  }

  /** A publish failed: it leaves the window without being done (it is sent again in a later generation). */
  drop(entry: Sent): void {
    this.inFlight--;
    this.bySeq.delete(entry.seq);
  }

  /** Acked or given up on: the acked prefix grows over every done publish at the head. */
  settle(entry: Sent): void {
    this.inFlight--;
    entry.done = true;
    this.bySeq.delete(entry.seq);
    while (this.head < this.sent.length && this.sent[this.head].done) {
      this.ackedThrough = this.sent[this.head].seq;
      this.head++;
    }
    if (this.head > COMPACT_AFTER) {
      this.sent = this.sent.slice(this.head);
      this.head = 0;
    }
  }

  /** A new generation: nothing in flight; what is acked stays acked. */
  reset(): void {
    this.inFlight = 0;
    this.sent = [];
    this.head = 0;
    this.bySeq = new Map();
  }
}
