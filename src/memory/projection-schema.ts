import type { DatabaseSync } from "node:sqlite";
import type { Role, MemoryRow } from "./rows.ts";
import type { Exclusion } from "./projection-types.ts";

/** The projection's SQLite layout, its migration, and the row mapping shared by writes and reads. */
export const SCHEMA_VERSION = "3";

export const SCHEMA = `
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

export const COLUMNS = "id, ts, agent, session, peer, type, role, speaker, channel, text, note_path, note_sha, note_index, note_count";

export type SqlRow = Record<string, string | number | null>;

export function toRow(r: SqlRow): MemoryRow {
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

/** SQL (with 4 parameters, see `excludeArgs`) leaving out what the running turn already holds. */
export const EXCLUDE_SQL = "AND (? IS NULL OR r.session IS NOT ? OR r.ts < ?)";
export function excludeArgs(e: Exclusion | undefined): [string | null, string | null, number] {
  const s = e?.session ?? null;
  return [s, s, e?.since ?? 0];
}

/** Creates the tables; a file from another schema version is emptied first (the feed replays the stream into it). */
export function migrate(db: DatabaseSync): void {
  const hasMeta = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
  const version = hasMeta ? db.prepare("SELECT value FROM meta WHERE key = 'schema'").get()?.value : undefined;
  if (hasMeta && version !== SCHEMA_VERSION) {
    // Older layout: drop it all; the feed replays the stream from the start into the new one.
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND sql LIKE 'CREATE VIRTUAL TABLE%'").all();
    for (const t of tables) db.exec(`DROP TABLE IF EXISTS "${String(t.name)}"`);
    const plain = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all();
    for (const t of plain) db.exec(`DROP TABLE IF EXISTS "${String(t.name)}"`);
  }
  db.exec(SCHEMA);
  db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', ?)").run(SCHEMA_VERSION);
}
