import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { MemoryRow, Role } from "./rows.ts";
import { STOP_WORDS } from "./words.ts";

/**
 * The memory projection: the conversation (and imported notes) of the event stream in a local SQLite
 * file with an FTS5 index. Built from the stream by resumable consumers (a cursor per subject) and from
 * the gateway's own events as they are recorded; delete the file and it is rebuilt by replay.
 *
 * Every read is an index range: (agent, peer, ts) for one conversation, (agent, ts) for an agent, so
 * the session-start block costs the same whatever the stream holds. Full-text search has one FTS5 index
 * per agent token, so a search costs what that agent's own history costs, not the whole stream's.
 * One process writes (the gateway's runtime); readers (the query worker) open it read-only next to it (WAL).
 */
const SCHEMA_VERSION = "3";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rows (
  n INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  ts INTEGER NOT NULL,
  agent TEXT NOT NULL,
  session TEXT,
  peer TEXT,
  type TEXT NOT NULL,
  role TEXT NOT NULL,
  speaker TEXT,
  channel TEXT,
  text TEXT NOT NULL,
  note_path TEXT,
  note_sha TEXT,
  note_index INTEGER,
  note_count INTEGER
);
CREATE INDEX IF NOT EXISTS rows_agent_peer_ts ON rows(agent, peer, ts);
CREATE INDEX IF NOT EXISTS rows_agent_ts ON rows(agent, ts);
CREATE INDEX IF NOT EXISTS rows_note ON rows(agent, note_path, ts) WHERE note_path IS NOT NULL;
CREATE TABLE IF NOT EXISTS speakers (agent TEXT NOT NULL, token TEXT NOT NULL, PRIMARY KEY (agent, token)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fts_agents (agent TEXT PRIMARY KEY, tbl TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (source TEXT PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

const COLUMNS = "id, ts, agent, session, peer, type, role, speaker, channel, text, note_path, note_sha, note_index, note_count";

type SqlRow = Record<string, string | number | null>;

function toRow(r: SqlRow): MemoryRow {
  return {
    id: String(r.id),
    ts: Number(r.ts),
    agent: String(r.agent),
    session: r.session === null ? null : String(r.session),
    peer: r.peer === null ? null : String(r.peer),
    type: String(r.type),
    role: String(r.role) as Role,
    speaker: r.speaker === null ? null : String(r.speaker),
    channel: r.channel === null ? null : String(r.channel),
    text: String(r.text),
    note: r.note_path === null ? null : { path: String(r.note_path), sha256: String(r.note_sha), index: Number(r.note_index), count: Number(r.note_count) },
  };
}

/** Which rows a reader may see (memory.scope and the notes policy, already resolved for one session). */
export interface Visibility {
  /** The agent itself first, then the agent tokens it may also read. */
  agents: readonly string[];
  /** The conversation (session key without `agent:<id>:`) under scope "peer"; undefined under "agent". */
  peer: string | undefined;
  /** Agent-wide rows (notes, events without a session) are visible. */
  agentWide: boolean;
}

/**
 * What the running turn already carries, left out of every read: rows of the current session from its
 * start on (the session's own context), and rows whose words the turn's prompt contains (its own
 * message, recorded a moment before the hook ran; a wake's body inside its `[PRIORITY from x]` frame).
 */
export interface Exclusion {
  session: string | undefined;
  /** Start of the current session (ms); its rows from here on are in the model's context already. */
  since: number;
  /** The texts the turn carries (its prompt), compared as words (see `carriedBy`). */
  texts: readonly string[];
}

export interface RecentQuery {
  visibility: Visibility;
  exclude?: Exclusion;
  types: readonly string[];
  since: number;
  limit: number;
}

export interface SearchQuery {
  visibility: Visibility;
  /** An FTS5 expression (see `ftsQuery`). */
  match: string;
  since?: number;
  until?: number;
  types?: readonly string[];
  session?: string;
  exclude?: Exclusion;
  limit: number;
}

export interface SearchHit {
  row: MemoryRow;
  /** FTS5 bm25 (lower is better). */
  bm25: number;
  snippet: string;
}

export interface NoteFile {
  path: string;
  sha256: string;
  ts: number;
  /** The chunks present, concatenated in order; `complete` says whether all of them are. */
  text: string;
  complete: boolean;
}

/**
 * Words of a free-text query as an FTS5 OR-expression of quoted terms (no operator can be injected).
 * Stop words are dropped unless the query has nothing else.
 */
export function ftsQuery(text: string, maxTerms = 32): string | undefined {
  const all = [...new Set((text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 1 || /\p{N}/u.test(w)))];
  const content = all.filter((w) => !STOP_WORDS.has(w));
  const words = content.length > 0 ? content : all;
  if (words.length === 0) return undefined;
  return words
    .slice(0, maxTerms)
    .map((w) => `"${w}"`)
    .join(" OR ");
}

/** Name words of a speaker ("Caroline", "telegram:alice" → alice): what a question may call them by. */
export function speakerTokens(speaker: string | null): string[] {
  if (!speaker) return [];
  const words = (speaker.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length >= 3 && /^\p{L}/u.test(w) && !STOP_WORDS.has(w) && !CHANNEL_WORDS.has(w));
  // A sender controls its name: a few words of it at most.
  return [...new Set(words)].slice(0, 4);
}
const CHANNEL_WORDS: ReadonlySet<string> = new Set(["telegram", "discord", "slack", "whatsapp", "signal", "imessage", "matrix", "nats", "agent", "user", "direct", "group", "channel", "main"]);

/** SQL (with 4 parameters, see `excludeArgs`) leaving out what the running turn already holds. */
const EXCLUDE_SQL = "AND (? IS NULL OR r.session IS NOT ? OR r.ts < ?)";
function excludeArgs(e: Exclusion | undefined): [string | null, string | null, number] {
  const s = e?.session ?? null;
  return [s, s, e?.since ?? 0];
}

export class Projection {
  readonly path: string;
  readonly readOnly: boolean;
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  /** agent → its FTS5 table, as far as known (a reader re-checks a miss: the writer may have added one). */
  private readonly ftsTables = new Map<string, string>();

  private constructor(path: string, db: DatabaseSync, readOnly: boolean) {
    this.path = path;
    this.db = db;
    this.readOnly = readOnly;
  }

  /** Opens (creating) the projection for writing; a file from another schema version is emptied for a rebuild. */
  static open(path: string): Projection {
    mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 1000;");
    const p = new Projection(path, db, false);
    p.migrate();
    return p;
  }

  /** Opens an existing projection read-only (the query worker). */
  static openReadOnly(path: string): Projection {
    const db = new DatabaseSync(path, { readOnly: true });
    db.exec("PRAGMA busy_timeout = 1000;");
    return new Projection(path, db, true);
  }

  private migrate(): void {
    const hasMeta = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    const version = hasMeta ? this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").get()?.value : undefined;
    if (hasMeta && version !== SCHEMA_VERSION) {
      // Older layout: drop it all; the feed replays the stream from the start into the new one.
      const tables = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql LIKE 'CREATE VIRTUAL TABLE%'").all();
      for (const t of tables) this.db.exec(`DROP TABLE IF EXISTS "${String(t.name)}"`);
      const plain = this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all();
      for (const t of plain) this.db.exec(`DROP TABLE IF EXISTS "${String(t.name)}"`);
    }
    this.db.exec(SCHEMA);
    this.db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', ?)").run(SCHEMA_VERSION);
  }

  private stmt(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** The agent's FTS5 table (created when `create`), or undefined. Named from the agent token's hex, never from raw input. */
  private ftsTable(agent: string, create: boolean): string | undefined {
    const known = this.ftsTables.get(agent);
    if (known) return known;
    const row = this.stmt("SELECT tbl FROM fts_agents WHERE agent = ?").get(agent);
    if (row) {
      this.ftsTables.set(agent, String(row.tbl));
      return String(row.tbl);
    }
    if (!create) return undefined;
    const tbl = `fts_${Buffer.from(agent, "utf8").toString("hex")}`;
    this.db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS ${tbl} USING fts5(text, content='rows', content_rowid='n', tokenize='porter unicode61 remove_diacritics 2')`);
    this.stmt("INSERT OR REPLACE INTO fts_agents(agent, tbl) VALUES (?, ?)").run(agent, tbl);
    this.ftsTables.set(agent, tbl);
    return tbl;
  }

  // ---- writing ------------------------------------------------------------------------------

  /**
   * Adds rows (an id already present is left alone: the same event arrives from the gateway itself and
   * again from the stream) and, in the same transaction, moves `cursor.source` to `cursor.seq`.
   * Returns how many rows were new.
   */
  add(rows: readonly MemoryRow[], cursor?: { source: string; seq: number }): number {
    const insert = this.stmt(
      `INSERT OR IGNORE INTO rows (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    let added = 0;
    this.db.exec("BEGIN");
    try {
      for (const r of rows) {
        const res = insert.run(r.id, r.ts, r.agent, r.session, r.peer, r.type, r.role, r.speaker, r.channel, r.text, r.note?.path ?? null, r.note?.sha256 ?? null, r.note?.index ?? null, r.note?.count ?? null);
        if (Number(res.changes) === 0) continue;
        added++;
        const tbl = this.ftsTable(r.agent, true);
        this.stmt(`INSERT INTO ${tbl}(rowid, text) VALUES (?, ?)`).run(res.lastInsertRowid, r.text);
        for (const token of speakerTokens(r.speaker)) this.stmt("INSERT OR IGNORE INTO speakers(agent, token) VALUES (?, ?)").run(r.agent, token);
      }
      if (cursor) this.stmt("INSERT OR REPLACE INTO cursors(source, seq, at) VALUES (?, ?, ?)").run(cursor.source, cursor.seq, Date.now());
      this.db.exec("COMMIT");
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
    return added;
  }

  cursor(source: string): number {
    const r = this.stmt("SELECT seq FROM cursors WHERE source = ?").get(source);
    return r ? Number(r.seq) : 0;
  }

  setCursor(source: string, seq: number): void {
    this.stmt("INSERT OR REPLACE INTO cursors(source, seq, at) VALUES (?, ?, ?)").run(source, seq, Date.now());
  }

  cursors(): Array<{ source: string; seq: number; at: number }> {
    return this.stmt("SELECT source, seq, at FROM cursors ORDER BY source")
      .all()
      .map((r) => ({ source: String(r.source), seq: Number(r.seq), at: Number(r.at) }));
  }

  /** Removes rows older than `before` (ms), and their index entries; returns how many. */
  prune(before: number): number {
    const old = this.stmt("SELECT n, agent, text FROM rows WHERE ts < ? LIMIT 10000");
    let removed = 0;
    for (;;) {
      const batch = old.all(before);
      if (batch.length === 0) return removed;
      this.db.exec("BEGIN");
      try {
        for (const r of batch) {
          const tbl = this.ftsTable(String(r.agent), false);
          if (tbl) this.stmt(`INSERT INTO ${tbl}(${tbl}, rowid, text) VALUES ('delete', ?, ?)`).run(r.n, r.text);
          this.stmt("DELETE FROM rows WHERE n = ?").run(r.n);
        }
        this.db.exec("COMMIT");
      } catch (err) {
        this.db.exec("ROLLBACK");
        throw err;
      }
      removed += batch.length;
    }
  }

  // ---- reading ------------------------------------------------------------------------------

  /**
   * The newest visible conversation rows (user / agent) of the given types, newest first. Runs at the
   * start of every session: rows come back as arrays (no object per row from SQLite) with only the
   * columns the block uses.
   */
  recent(q: RecentQuery): MemoryRow[] {
    const types = JSON.stringify(q.types);
    const perAgent = q.visibility.agents.map((agent) => {
      const peer = q.visibility.peer;
      const stmt = this.arrays(
        `SELECT id, ts, agent, session, peer, type, role, speaker, channel, text FROM rows r WHERE agent = ?${peer === undefined ? "" : " AND peer = ?"} AND ts >= ? AND role IN ('user', 'agent') AND type IN (SELECT value FROM json_each(?)) ${EXCLUDE_SQL} ORDER BY ts DESC LIMIT ?`,
      );
      const ex = excludeArgs(q.exclude);
      const rows = (peer === undefined ? stmt.all(agent, q.since, types, ...ex, q.limit) : stmt.all(agent, peer, q.since, types, ...ex, q.limit)) as unknown as Array<Array<string | number | null>>;
      return rows.map(
        (r): MemoryRow => ({
          id: String(r[0]),
          ts: Number(r[1]),
          agent: String(r[2]),
          session: r[3] === null ? null : String(r[3]),
          peer: r[4] === null ? null : String(r[4]),
          type: String(r[5]),
          role: String(r[6]) as Role,
          speaker: r[7] === null ? null : String(r[7]),
          channel: r[8] === null ? null : String(r[8]),
          text: String(r[9]),
          note: null,
        }),
      );
    });
    if (perAgent.length === 1) return perAgent[0];
    return perAgent
      .flat()
      .sort((a, b) => b.ts - a.ts || (a.id < b.id ? 1 : -1))
      .slice(0, q.limit);
  }

  /** A cached statement that returns rows as arrays. */
  private arrays(sql: string): StatementSync {
    const key = `arrays:${sql}`;
    let s = this.statements.get(key);
    if (!s) {
      s = this.db.prepare(sql);
      s.setReturnArrays(true);
      this.statements.set(key, s);
    }
    return s;
  }

  /** The newest version of one imported note file (all its chunks), or undefined. */
  latestNote(agent: string, path: string): NoteFile | undefined {
    const head = this.stmt("SELECT note_sha, ts FROM rows WHERE agent = ? AND note_path = ? ORDER BY ts DESC, n DESC LIMIT 1").get(agent, path);
    if (!head) return undefined;
    const sha = String(head.note_sha);
    const chunks = this.stmt("SELECT text, note_index, note_count FROM rows WHERE agent = ? AND note_path = ? AND note_sha = ? ORDER BY note_index").all(agent, path, sha);
    const seen = new Map<number, string>();
    let count = 0;
    for (const c of chunks) {
      seen.set(Number(c.note_index), String(c.text));
      count = Number(c.note_count);
    }
    return { path, sha256: sha, ts: Number(head.ts), text: [...seen.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t).join(""), complete: seen.size === count };
  }

  /** BM25-ranked rows matching `match`, within the reader's visibility and the filters (each agent's index, merged). */
  search(q: SearchQuery): SearchHit[] {
    const v = q.visibility;
    const peer = v.peer ?? null;
    const wide = v.agentWide ? 1 : 0;
    const types = q.types && q.types.length > 0 ? JSON.stringify(q.types) : null;
    const session = q.session ?? null;
    const hits: SearchHit[] = [];
    for (const agent of v.agents) {
      const tbl = this.ftsTable(agent, false);
      if (!tbl) continue;
      // CROSS JOIN keeps the full-text match as the outer loop: with a plain JOIN SQLite walks the
      // agent's rows by index and runs the MATCH once per row (seconds on a large history).
      const sql = `SELECT ${COLUMNS.split(", ").map((c) => `r.${c}`).join(", ")}, bm25(${tbl}) AS bm25, snippet(${tbl}, 0, '', '', '…', 40) AS snip
        FROM ${tbl} CROSS JOIN rows r ON r.n = ${tbl}.rowid
        WHERE ${tbl} MATCH ?
          AND r.agent = ?
          AND (? IS NULL OR r.peer = ? OR (r.peer IS NULL AND ? = 1))
          AND (? = 1 OR r.peer IS NOT NULL)
          AND r.ts >= ? AND r.ts <= ?
          AND (? IS NULL OR r.type IN (SELECT value FROM json_each(?)))
          AND (? IS NULL OR r.session = ?)
          ${EXCLUDE_SQL}
        ORDER BY bm25 LIMIT ?`;
      for (const r of this.stmt(sql).all(q.match, agent, peer, peer, wide, wide, q.since ?? 0, q.until ?? Number.MAX_SAFE_INTEGER, types, types, session, session, ...excludeArgs(q.exclude), q.limit)) {
        hits.push({ row: toRow(r as SqlRow), bm25: Number(r.bm25), snippet: String(r.snip) });
      }
    }
    return v.agents.length > 1 ? hits.sort((a, b) => a.bm25 - b.bm25).slice(0, q.limit) : hits;
  }

  /** Which of `words` name a speaker of one of these agents' rows. */
  speakerWords(agents: readonly string[], words: readonly string[]): Set<string> {
    const out = new Set<string>();
    if (words.length === 0) return out;
    const stmt = this.stmt("SELECT token FROM speakers WHERE agent = ? AND token IN (SELECT value FROM json_each(?))");
    const list = JSON.stringify(words);
    for (const agent of agents) for (const r of stmt.all(agent, list)) out.add(String(r.token));
    return out;
  }

  /**
   * The conversation rows just before and just after one row (same agent and conversation), within
   * the reader's exclusion: the turn that asked, the turn that answered. Two index probes.
   */
  neighbours(row: MemoryRow, exclude?: Exclusion): MemoryRow[] {
    if (row.peer === null) return [];
    const cols = COLUMNS.split(", ").map((c) => `r.${c}`).join(", ");
    const out: MemoryRow[] = [];
    for (const [cmp, order] of [["<", "DESC"], [">", "ASC"]] as const) {
      const r = this.stmt(`SELECT ${cols} FROM rows r WHERE r.agent = ? AND r.peer = ? AND r.ts ${cmp} ? AND r.role IN ('user', 'agent') ${EXCLUDE_SQL} ORDER BY r.ts ${order} LIMIT 1`).get(row.agent, row.peer, row.ts, ...excludeArgs(exclude));
      if (r) out.push(toRow(r as SqlRow));
    }
    return out;
  }

  /** One row by event id, if the reader may see it. */
  visibleRow(id: string, v: Visibility): MemoryRow | undefined {
    const r = this.stmt(`SELECT ${COLUMNS} FROM rows WHERE id = ?`).get(id);
    if (!r) return undefined;
    const row = toRow(r as SqlRow);
    if (!v.agents.includes(row.agent)) return undefined;
    if (row.peer === null) return v.agentWide ? row : undefined;
    return v.peer === undefined || row.peer === v.peer ? row : undefined;
  }

  /** Rows in the projection (all agents), and the time span they cover. */
  stats(): { rows: number; oldest: number | undefined; newest: number | undefined } {
    const r = this.stmt("SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi FROM rows").get();
    return { rows: Number(r?.n ?? 0), oldest: r?.lo === null ? undefined : Number(r?.lo), newest: r?.hi === null ? undefined : Number(r?.hi) };
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
