import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { Lane, type Totals } from "./lane.ts";
import { WalCheckpoint } from "./checkpoint.ts";

/** One spooled event: everything the publisher needs, in the order it was recorded. */
export interface SpoolRow {
  /** Position in its lane; strictly increasing, never reused while the row exists. */
  seq: number;
  /** Event id, sent as Nats-Msg-Id. */
  id: string;
  subject: string;
  /** The envelope as JSON text. */
  data: string;
  /** Bytes counted against spool.maxBytes (UTF-8 length of `data`). */
  size: number;
}

export interface Removed {
  rows: number;
  bytes: number;
}

export interface SpoolOptions {
  /** SQLite file; its directory is created. */
  path: string;
  /** Upper bound of the summed row sizes; past it the oldest rows are dropped by trim(). */
  maxBytes: number;
  /** How long after its last append the spool counts as idle for the periodic checkpoint; default 200 ms. */
  idleMs?: number;
}

/** The spool counts as idle this long after its last append; the periodic maintain() checkpoints only then. */
const IDLE_MS = 200;
/** trim() frees down to this share of maxBytes so that a full spool does not trim on every record. */
const TRIM_TARGET = 0.99;

/**
 * The local durable outbox: SQLite (node:sqlite) in WAL mode with synchronous=NORMAL, so a
 * committed row survives the process being SIGKILLed (not a power cut). One INSERT per event, no
 * fsync on the caller's path; checkpoints run from the drain loop or a timer (maintain()), when the
 * spool is idle or its log is long, after the log was fsynced off the event loop.
 * The file is held with an exclusive lock: one process per spool.
 */
export class Spool {
  /** The schedule before the idle/pre-sync one: every timer tick, inline, no pre-sync (bench:events' "before" only). */
  static inlineCheckpoints = false;
  readonly path: string;
  readonly maxBytes: number;
  private readonly db: DatabaseSync;
  private readonly lanesByName = new Map<string, Lane>();
  private readonly registerLane: StatementSync;
  private totalRows = 0;
  private totalBytes = 0;
  private readonly wal: WalCheckpoint;
  private closed = false;

  private constructor(db: DatabaseSync, opts: SpoolOptions) {
    this.db = db;
    this.path = opts.path;
    this.maxBytes = opts.maxBytes;
    this.wal = new WalCheckpoint(db, opts.path, opts.idleMs ?? IDLE_MS);
    db.exec("CREATE TABLE IF NOT EXISTS lanes (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
    this.registerLane = db.prepare("INSERT INTO lanes (name) VALUES (?) RETURNING id");
    for (const row of db.prepare("SELECT id, name FROM lanes ORDER BY id").all()) {
      this.attach(String(row.name), Number(row.id));
    }
  }

  /** Opens (creating if needed) the spool file. Throws if another process holds it. */
  static open(opts: SpoolOptions): Spool {
    mkdirSync(dirname(opts.path), { recursive: true });
    const db = new DatabaseSync(opts.path, { timeout: 0 });
    try {
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      db.exec("PRAGMA wal_autocheckpoint = 0");
      db.exec("BEGIN IMMEDIATE; COMMIT"); // takes the exclusive lock now rather than at the first event
      return new Spool(db, opts);
    } catch (err) {
      db.close();
      const msg = err instanceof Error ? err.message : String(err);
      if (/locked|busy/i.test(msg)) throw new Error(`event spool ${opts.path} is in use by another process (${msg})`);
      throw err;
    }
  }

  private attach(name: string, id: number): Lane {
    const lane = new Lane(this.db, name, `outbox_${id}`);
    this.lanesByName.set(name, lane);
    this.totalRows += lane.rows;
    this.totalBytes += lane.bytes;
    return lane;
  }

  private lane(name: string): Lane {
    const known = this.lanesByName.get(name);
    if (known) return known;
    const row = this.registerLane.get(name);
    return this.attach(name, Number(row?.id));
  }

  /** Lanes that exist in the file (including ones from an earlier configuration). */
  laneNames(): string[] {
    return [...this.lanesByName.keys()];
  }

  /** Appends one event to a lane and returns its seq. One autocommit INSERT. */
  append(laneName: string, id: string, subject: string, data: string, size: number): number {
    const lane = this.lane(laneName);
    const seq = lane.nextSeq;
    lane.insert.run(seq, id, subject, data, size);
    lane.nextSeq = seq + 1;
    lane.rows++;
    lane.bytes += size;
    this.totalRows++;
    this.totalBytes += size;
    this.wal.wrote(true);
    return seq;
  }

  /** Up to `limit` rows of a lane with seq > afterSeq, oldest first. */
  read(laneName: string, afterSeq: number, limit: number): SpoolRow[] {
    const lane = this.lanesByName.get(laneName);
    if (!lane || lane.rows === 0) return [];
    return lane.readAfter.all(afterSeq, limit) as unknown as SpoolRow[];
  }

  /** Deletes every row of a lane with seq <= throughSeq (published, or dropped). */
  removeThrough(laneName: string, throughSeq: number): Removed {
    const lane = this.lanesByName.get(laneName);
    if (!lane || lane.rows === 0) return { rows: 0, bytes: 0 };
    const t = lane.totalsThrough.get(throughSeq) as unknown as Totals;
    if (t.n === 0) return { rows: 0, bytes: 0 };
    lane.deleteThrough.run(throughSeq);
    lane.rows -= t.n;
    lane.bytes -= t.b;
    this.totalRows -= t.n;
    this.totalBytes -= t.b;
    this.wal.wrote(false);
    return { rows: t.n, bytes: t.b };
  }

  depth(laneName?: string): number {
    if (laneName === undefined) return this.totalRows;
    return this.lanesByName.get(laneName)?.rows ?? 0;
  }

  bytes(laneName?: string): number {
    if (laneName === undefined) return this.totalBytes;
    return this.lanesByName.get(laneName)?.bytes ?? 0;
  }

  /** Id of the oldest row across lanes (ids are UUIDv7, so it also tells when it was recorded). */
  oldestId(): string | undefined {
    const lane = this.laneWithOldestHead();
    return lane ? (lane.oldest.get(1) as unknown as { id: string } | undefined)?.id : undefined;
  }

  get overLimit(): boolean {
    return this.totalBytes > this.maxBytes;
  }

  /**
   * Drops the oldest rows (across lanes, by event id which is time-ordered) until the spool is
   * back under 99 % of maxBytes. Returns what was dropped; the caller counts and reports it.
   */
  trim(): Removed {
    const dropped: Removed = { rows: 0, bytes: 0 };
    const target = Math.floor(this.maxBytes * TRIM_TARGET);
    while (this.totalBytes > target) {
      const lane = this.laneWithOldestHead();
      if (!lane) break;
      let through = 0;
      let freed = 0;
      for (const row of lane.oldest.all(512) as unknown as Array<{ seq: number; size: number }>) {
        through = row.seq;
        freed += row.size;
        if (this.totalBytes - freed <= target) break;
      }
      const r = this.removeThrough(lane.name, through);
      if (r.rows === 0) break;
      dropped.rows += r.rows;
      dropped.bytes += r.bytes;
    }
    return dropped;
  }

  private laneWithOldestHead(): Lane | undefined {
    let best: Lane | undefined;
    let bestId = "";
    for (const lane of this.lanesByName.values()) {
      if (lane.rows === 0) continue;
      const head = lane.oldest.get(1) as unknown as { id: string } | undefined;
      if (head && (!best || head.id < bestId)) {
        best = lane;
        bestId = head.id;
      }
    }
    return best;
  }

  /** See WalCheckpoint.maintain(): a PASSIVE checkpoint when one is due, its log fsynced off the event loop first. */
  maintain(periodic = false): void {
    if (!this.closed) this.wal.maintain(periodic, Spool.inlineCheckpoints);
  }

  /** Checkpoints done (status, tests). */
  get checkpoints(): number {
    return this.wal.checkpoints;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      this.db.close();
      this.wal.close();
    }
  }
}
