import type { Spool, SpoolRow } from "./spool.ts";

/**
 * Where a lane drainer takes its next row from: rows read from the spool file in batches, or handed
 * over by offer() as they are appended (no read back from the file while the drainer keeps up).
 */
export class LaneReader {
  private readonly spool: Spool;
  private readonly lane: string;
  private readonly batchSize: number;
  /** Rows loaded for sending (read from the file, or handed over by offer()), oldest first. */
  private buffer: SpoolRow[] = [];
  private pos = 0;
  /** False once a read found the end of the lane and every later row was offered: no need to query the file. */
  private unreadInFile = true;
  /** Seq of the last row taken for sending in this generation. */
  private cursor = 0;

  constructor(spool: Spool, lane: string, batchSize: number) {
    this.spool = spool;
    this.lane = lane;
    this.batchSize = batchSize;
  }

  /** A row was just appended: queued from memory when everything before it is loaded, else left for the next read. */
  offer(row: SpoolRow): void {
    const lastKnown = this.pos < this.buffer.length ? this.buffer[this.buffer.length - 1].seq : this.cursor;
    if (!this.unreadInFile && row.seq === lastKnown + 1 && this.buffer.length - this.pos < this.batchSize) {
      if (this.pos === this.buffer.length) {
        this.buffer = [];
        this.pos = 0;
      }
      this.buffer.push(row);
    } else {
      this.unreadInFile = true;
    }
  }

  /** Forgets loaded rows not yet taken; they are read again from the file. */
  reload(): void {
    this.buffer = [];
    this.pos = 0;
    this.unreadInFile = true;
  }

  /** Take rows again from the one after `seq` (a new send generation starts at the oldest unacked row). */
  restartAfter(seq: number): void {
    this.reload();
    this.cursor = seq;
  }

  /** Idle with rows left in the file: they were appended without offer(); read them from the file. */
  noticeUnoffered(): void {
    if (this.pos >= this.buffer.length && this.spool.depth(this.lane) > 0) this.unreadInFile = true;
  }

  /** The next row to send, or undefined when the lane has none. */
  next(): SpoolRow | undefined {
    if (this.pos >= this.buffer.length) {
      if (!this.unreadInFile) return undefined;
      this.buffer = this.spool.read(this.lane, this.cursor, this.batchSize);
      this.pos = 0;
      if (this.buffer.length < this.batchSize) this.unreadInFile = false;
      if (this.buffer.length === 0) return undefined;
    }
    const row = this.buffer[this.pos++];
    this.cursor = row.seq;
    return row;
  }
}
