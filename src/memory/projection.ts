import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ProjectionDb } from "./projection-db.ts";
import * as read from "./projection-read.ts";
import { COLUMNS, migrate } from "./projection-schema.ts";
import type { Exclusion, NoteFile, RecentQuery, SearchHit, SearchQuery, Visibility } from "./projection-types.ts";
import { speakerTokens } from "./query-words.ts";
import type { MemoryRow } from "./rows.ts";

/** Row numbers one prune step looks at, and rows it deletes at most (each delete also updates an FTS5 index). */
const PRUNE_SCAN = 5000;
const PRUNE_DELETE = 250;

export type { Exclusion, NoteFile, RecentQuery, SearchHit, SearchQuery, Visibility } from "./projection-types.ts";
export { ftsQuery, speakerTokens } from "./query-words.ts";

/**
 * The memory projection: the conversation (and imported notes) of the event stream in a local SQLite
 * file with an FTS5 index. Built from the stream by resumable consumers (a cursor per subject) and from
 * the gateway's own events as they are recorded; delete the file and it is rebuilt by replay.
 *
 * Every read is an index range: (agent, peer, ts) for one conversation, (agent, ts) for an agent, so
 * the session-start block costs the same whatever the stream holds. Full-text search has one FTS5 index
 * per agent token, so a search costs what that agent's own history costs, not the whole stream's.
 * One process writes (the gateway's runtime); readers (the query worker) open it read-only next to it (WAL).
 * Layout and migration: projection-schema.ts; reads: projection-read.ts; query words: query-words.ts.
 */
export class Projection {
  readonly path: string;
  readonly readOnly: boolean;
  private readonly db: DatabaseSync;
  private readonly q: ProjectionDb;

  private constructor(path: string, db: DatabaseSync, readOnly: boolean) {
    this.path = path;
    this.db = db;
    this.readOnly = readOnly;
    this.q = new ProjectionDb(db);
  }

  /** Opens (creating) the projection for writing; a file from another schema version is emptied for a rebuild. */
  static open(path: string): Projection {
    mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 1000;");
    migrate(db);
    return new Projection(path, db, false);
  }

  /** Opens an existing projection read-only (the query worker). */
  static openReadOnly(path: string): Projection {
    const db = new DatabaseSync(path, { readOnly: true });
    // 16 MiB of page cache (SQLite's default is 2 MB). A block at 1M events reads the agent's recent rows
    // scattered among every other agent's pages, plus its FTS5 doclists: with 2 MB each block went back
    // to the OS for most pages. Measured on a 217 MB projection (20 agents, 500k rows), same process,
    // alternating: block p50 13.0–13.6 → 9.0–9.5 ms (a throwaway A/B; bench:memory's 1M row is the figure
    // that counts). Bounded per worker.
    db.exec("PRAGMA busy_timeout = 1000; PRAGMA cache_size = -16384;");
    return new Projection(path, db, true);
  }

  // ---- writing ------------------------------------------------------------------------------

  /**
   * Adds rows (an id already present is left alone: the same event arrives from the gateway itself and
   * again from the stream) and, in the same transaction, moves `cursor.source` to `cursor.seq`.
   * Returns how many rows were new.
   */
  add(rows: readonly MemoryRow[], cursor?: { source: string; seq: number }): number {
    const insert = this.q.stmt(
      `INSERT OR IGNORE INTO rows (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    let added = 0;
    this.db.exec("BEGIN");
    try {
      for (const r of rows) {
        const res = insert.run(r.id, r.ts, r.agent, r.session, r.peer, r.type, r.role, r.speaker, r.channel, r.text, r.note?.path ?? null, r.note?.sha256 ?? null, r.note?.index ?? null, r.note?.count ?? null);
        if (Number(res.changes) === 0) continue;
        added++;
        const tbl = this.q.ftsTable(r.agent, true);
        this.q.stmt(`INSERT INTO ${tbl}(rowid, text) VALUES (?, ?)`).run(res.lastInsertRowid, r.text);
        for (const token of speakerTokens(r.speaker)) this.q.stmt("INSERT OR IGNORE INTO speakers(agent, token) VALUES (?, ?)").run(r.agent, token);
      }
      if (cursor) this.q.stmt("INSERT OR REPLACE INTO cursors(source, seq, at) VALUES (?, ?, ?)").run(cursor.source, cursor.seq, Date.now());
      this.db.exec("COMMIT");
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
    return added;
  }

  cursor(source: string): number {
    const r = this.q.stmt("SELECT seq FROM cursors WHERE source = ?").get(source);
    return r ? Number(r.seq) : 0;
  }

  setCursor(source: string, seq: number): void {
    this.q.stmt("INSERT OR REPLACE INTO cursors(source, seq, at) VALUES (?, ?, ?)").run(source, seq, Date.now());
  }

  cursors(): Array<{ source: string; seq: number; at: number }> {
    return this.q.stmt("SELECT source, seq, at FROM cursors ORDER BY source")
      .all()
      .map((r) => ({ source: String(r.source), seq: Number(r.seq), at: Number(r.at) }));
  }

  /**
   * Removes rows older than `before` (ms), and their index entries; returns how many. All at once, in
   * bounded slices (see pruneSlice); the gateway's service prunes slice by slice and yields in between.
   */
  prune(before: number): number {
    let removed = 0;
    for (let from = 0, top = this.topRowId(); from < top; ) {
      const s = this.pruneSlice(before, from, top);
      removed += s.removed;
      from = s.next;
    }
    return removed;
  }

  /** The highest row number now (a prune pass stops there: rows added during it are new anyway). */
  topRowId(): number {
    return Number(this.q.stmt("SELECT coalesce(max(n), 0) AS top FROM rows").get()?.top ?? 0);
  }

  /**
   * One bounded step of a prune pass: looks at rows numbered (from, min(from + PRUNE_SCAN, top)] and
   * deletes at most PRUNE_DELETE of those older than `before`, in one transaction. Bounded both ways
   * so one step costs a few milliseconds whatever the projection holds: a range of the rowid b-tree (no
   * scan of the whole table, which `WHERE ts < ?` without an index on ts would be), and a capped number
   * of FTS5 deletes (the expensive part). Returns what it removed and where the next step starts.
   */
  pruneSlice(before: number, from: number, top: number): { removed: number; next: number } {
    const through = Math.min(from + PRUNE_SCAN, top);
    const batch = this.q.stmt("SELECT n, agent, text FROM rows WHERE n > ? AND n <= ? AND ts < ? ORDER BY n LIMIT ?").all(from, through, before, PRUNE_DELETE);
    if (batch.length === 0) return { removed: 0, next: through };
    this.db.exec("BEGIN");
    try {
      for (const r of batch) {
        const tbl = this.q.ftsTable(String(r.agent), false);
        if (tbl) this.q.stmt(`INSERT INTO ${tbl}(${tbl}, rowid, text) VALUES ('delete', ?, ?)`).run(r.n, r.text);
        this.q.stmt("DELETE FROM rows WHERE n = ?").run(r.n);
      }
      this.db.exec("COMMIT");
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
    // A full batch may have left older rows further on in the range: continue right after the last one.
    const next = batch.length === PRUNE_DELETE ? Number(batch[batch.length - 1].n) : through;
    return { removed: batch.length, next };
  }

  // ---- reading (projection-read.ts) ----------------------------------------------------------

  /** The newest visible conversation rows (user / agent) of the given types, newest first. */
  recent(q: RecentQuery): MemoryRow[] {
    return read.recentRows(this.q, q);
  }

  /** The newest version of one imported note file (all its chunks), or undefined. */
  latestNote(agent: string, path: string): NoteFile | undefined {
    return read.latestNote(this.q, agent, path);
  }

  /** BM25-ranked rows matching `match`, within the reader's visibility and the filters (each agent's index, merged). */
  search(q: SearchQuery): SearchHit[] {
    return read.searchRows(this.q, q);
  }

  /** FTS5's snippet of one row (by event id) for `match`, "" when it does not match. */
  snippet(agent: string, match: string, id: string): string {
    return read.snippetOf(this.q, agent, match, id);
  }

  /** Which of `words` name a speaker of one of these agents' rows. */
  speakerWords(agents: readonly string[], words: readonly string[]): Set<string> {
    return read.speakerWords(this.q, agents, words);
  }

  /** The conversation rows just before and just after one row (same agent and conversation), within the reader's exclusion. */
  neighbours(row: MemoryRow, exclude?: Exclusion): MemoryRow[] {
    return read.neighbours(this.q, row, exclude);
  }

  /** One row by event id, if the reader may see it. */
  visibleRow(id: string, v: Visibility): MemoryRow | undefined {
    return read.visibleRow(this.q, id, v);
  }

  /** Rows in the projection (all agents), and the time span they cover. */
  stats(): { rows: number; oldest: number | undefined; newest: number | undefined } {
    return read.stats(this.q);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
