import { closeSync, fsync, openSync } from "node:fs";
import type { DatabaseSync } from "node:sqlite";

/** Writes after which a checkpoint is due even while events keep coming (bounds the WAL to ~20 MB). */
const CHECKPOINT_EVERY_WRITES = 4000;

/** When and how the spool's write-ahead log is moved into its main file (the spool's one connection does the copy). */
export class WalCheckpoint {
  private readonly db: DatabaseSync;
  private readonly path: string;
  private readonly idleMs: number;
  private writesSinceCheckpoint = 0;
  private lastWriteAt = 0;
  /** A read-only descriptor of the -wal file, for fsyncing it in the thread pool (see maintain()). */
  private walFd: number | undefined;
  private syncing = false;
  private closed = false;
  checkpoints = 0;

  constructor(db: DatabaseSync, path: string, idleMs: number) {
    this.db = db;
    this.path = path;
    this.idleMs = idleMs;
  }

  /** One more write to move; `append` writes also restart the idle clock (removals do not). */
  wrote(append: boolean): void {
    this.writesSinceCheckpoint++;
    if (append) this.lastWriteAt = performance.now();
  }

  /**
   * Moves the write-ahead log into the main file, with a PASSIVE checkpoint, when it is due: the spool
   * has been idle for `idleMs` (`periodic`, the store's once-a-second timer), or CHECKPOINT_EVERY_WRITES
   * writes piled up (whoever calls). Cheap when nothing is due.
   *
   * A checkpoint with synchronous=NORMAL fsyncs the log before copying it, then the main file: on the
   * event loop that was 10–50 ms each on this VM, once a second and every 4,000 writes, taken from
   * every agent's turn. The log's fsync (the larger one: every frame, where the copy is only the latest
   * version of each page) now runs first in the thread pool on a descriptor of our own, so SQLite's own
   * fsync finds little left to write; the copy and the main file's fsync stay on the event loop, as
   * the single exclusive connection has to do them (a second connection in a worker would need shared
   * locking, which doubled the cost of every INSERT here). Durability is unchanged: SQLite still syncs
   * in the same order, the extra fsync only comes first.
   */
  maintain(periodic: boolean, inline: boolean): void {
    if (this.closed || this.syncing || this.writesSinceCheckpoint === 0) return;
    if (inline) {
      if (periodic || this.writesSinceCheckpoint >= CHECKPOINT_EVERY_WRITES) this.checkpointNow();
      return;
    }
    const idle = performance.now() - this.lastWriteAt >= this.idleMs;
    if (!(periodic && idle) && this.writesSinceCheckpoint < CHECKPOINT_EVERY_WRITES) return;
    const fd = this.walFd ?? this.openWal();
    if (fd === undefined) return this.checkpointNow();
    this.syncing = true;
    fsync(fd, () => {
      this.syncing = false;
      if (this.closed) return this.closeWal();
      this.checkpointNow();
    });
  }

  private checkpointNow(): void {
    this.db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    this.writesSinceCheckpoint = 0;
    this.checkpoints++;
  }

  /** Only ever the -wal file: SQLite holds no lock on it (a descriptor of the main file, closed, would drop its locks). */
  private openWal(): number | undefined {
    try {
      this.walFd = openSync(`${this.path}-wal`, "r");
    } catch {
      this.walFd = undefined; // no log yet (nothing written): nothing to move either
    }
    return this.walFd;
  }

  private closeWal(): void {
    if (this.walFd === undefined) return;
    try {
      closeSync(this.walFd);
    } catch {
      // already gone
    }
    this.walFd = undefined;
  }

  /** After the database closed: drop the log's descriptor (or let the pending fsync's callback do it). */
  close(): void {
    this.closed = true;
    if (!this.syncing) this.closeWal();
  }
}
