import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";

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
}

/** Write-ahead-log frames between checkpoints run from outside the agent's path. */
const CHECKPOINT_EVERY_WRITES = 4000;
/** trim() frees down to this share of maxBytes so that a full spool does not trim on every record. */
const TRIM_TARGET = 0.99;

interface Totals {
  n: number;
  b: number;
  top: number | null;
}

/**
 * One ordered outbox table. Rows of a lane are published over one connection, in seq order.
 * Lanes let an agent with its own NATS server drain independently of the others.
 */
class Lane {
  readonly name: string;
  rows = 0;
  bytes = 0;
  nextSeq = 1;
  readonly insert: StatementSync;
  readonly readAfter: StatementSync;
  readonly totalsThrough: StatementSync;
  readonly deleteThrough: StatementSync;
  readonly oldest: StatementSync;

  constructor(db: DatabaseSync, name: string, table: string) {
    this.name = name;
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, subject TEXT NOT NULL, data TEXT NOT NULL, size INTEGER NOT NULL)`,
    );
    this.insert = db.prepare(`INSERT INTO ${table} (seq, id, subject, data, size) VALUES (?, ?, ?, ?, ?)`);
    this.readAfter = db.prepare(`SELECT seq, id, subject, data, size FROM ${table} WHERE seq > ? ORDER BY seq LIMIT ?`);
    this.totalsThrough = db.prepare(`SELECT count(*) AS n, total(size) AS b, max(seq) AS top FROM ${table} WHERE seq <= ?`);
    this.deleteThrough = db.prepare(`DELETE FROM ${table} WHERE seq <= ?`);
    this.oldest = db.prepare(`SELECT seq, size, id FROM ${table} ORDER BY seq LIMIT ?`);
    const t = db.prepare(`SELECT count(*) AS n, total(size) AS b, max(seq) AS top FROM ${table}`).get() as unknown as Totals;
    this.rows = t.n;
    this.bytes = t.b;
    this.nextSeq = (t.top ?? 0) + 1;
  }
}

export interface SpoolPeek {
  rows: number;
  bytes: number;
  /** Id of the oldest row (a UUIDv7: it tells when it was recorded). */
  oldestId: string | undefined;
}

/**
 * What a spool file holds, read without keeping it open (for `openclaw nats doctor` while no
 * gateway runs). Undefined when there is no file; throws "in use" when a gateway holds its lock.
 */
export function peekSpool(path: string): SpoolPeek | undefined {
  if (!existsSync(path)) return undefined;
  const db = new DatabaseSync(path, { timeout: 0 });
  try {
    let rows = 0;
    let bytes = 0;
    let oldestId: string | undefined;
    const tables = db.prepare("SELECT id FROM lanes").all().map((r) => `outbox_${Number(r.id)}`);
    for (const table of tables) {
      const t = db.prepare(`SELECT count(*) AS n, total(size) AS b, min(id) AS oldest FROM ${table}`).get() as unknown as { n: number; b: number; oldest: string | null };
      rows += t.n;
      bytes += t.b;
      if (t.oldest && (!oldestId || t.oldest < oldestId)) oldestId = t.oldest;
    }
    return { rows, bytes, oldestId };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/locked|busy/i.test(msg)) throw new Error(`event spool ${path} is in use by another process (${msg})`);
    if (/no such table/i.test(msg)) return { rows: 0, bytes: 0, oldestId: undefined };
    throw err;
  } finally {
    db.close();
  }
}

/**
 * The local durable outbox: SQLite (node:sqlite) in WAL mode with synchronous=NORMAL, so a
 * committed row survives the process being SIGKILLed (not a power cut). One INSERT per event, no
 * fsync on the caller's path; checkpoints run from the drain loop or a timer (maintain()).
 * The file is held with an exclusive lock: one process per spool.
 */
export class Spool {
  readonly path: string;
  readonly maxBytes: number;
  private readonly db: DatabaseSync;
  private readonly lanesByName = new Map<string, Lane>();
  private readonly registerLane: StatementSync;
  private totalRows = 0;
  private totalBytes = 0;
  private writesSinceCheckpoint = 0;
  private closed = false;

  private constructor(db: DatabaseSync, opts: SpoolOptions) {
    this.db = db;
    this.path = opts.path;
    this.maxBytes = opts.maxBytes;
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
    this.writesSinceCheckpoint++;
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
    this.writesSinceCheckpoint++;
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

  /** Moves the write-ahead log into the main file when enough was written (or `force`). Cheap when idle. */
  maintain(force = false): void {
    if (this.closed) return;
    if (this.writesSinceCheckpoint === 0) return;
    if (!force && this.writesSinceCheckpoint < CHECKPOINT_EVERY_WRITES) return;
    this.db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    this.writesSinceCheckpoint = 0;
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
    }
  }
}
