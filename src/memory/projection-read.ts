import type { ProjectionDb } from "./projection-db.ts";
import { COLUMNS, EXCLUDE_SQL, excludeArgs, toRow, type SqlRow } from "./projection-schema.ts";
import type { Exclusion, NoteFile, RecentQuery, SearchHit, SearchQuery, Visibility } from "./projection-types.ts";
import type { MemoryRow, Role } from "./rows.ts";

/**
 * The projection's reads. Every read is an index range: (agent, peer, ts) for one conversation,
 * (agent, ts) for an agent; full-text search goes through the agent's own FTS5 index.
 */

/**
 * The newest visible conversation rows (user / agent) of the given types, newest first. Runs at the
 * start of every session: rows come back as arrays (no object per row from SQLite) with only the
 * columns the block uses.
 */
export function recentRows(p: ProjectionDb, q: RecentQuery): MemoryRow[] {
  const types = JSON.stringify(q.types);
  const perAgent = q.visibility.agents.map((agent) => {
    const peer = q.visibility.peer;
    const stmt = p.arrays(
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

/** The newest version of one imported note file (all its chunks), or undefined. */
export function latestNote(p: ProjectionDb, agent: string, path: string): NoteFile | undefined {
  const head = p.stmt("SELECT note_sha, ts FROM rows WHERE agent = ? AND note_path = ? ORDER BY ts DESC, n DESC LIMIT 1").get(agent, path);
  if (!head) return undefined;
  const sha = String(head.note_sha);
  const chunks = p.stmt("SELECT text, note_index, note_count FROM rows WHERE agent = ? AND note_path = ? AND note_sha = ? ORDER BY note_index").all(agent, path, sha);
  const seen = new Map<number, string>();
  let count = 0;
  for (const c of chunks) {
    seen.set(Number(c.note_index), String(c.text));
    count = Number(c.note_count);
  }
  return { path, sha256: sha, ts: Number(head.ts), text: [...seen.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t).join(""), complete: seen.size === count };
}

/**
 * The smallest rowid a visible row of this agent from `since` on can have (rows are numbered as they
 * are inserted): the full-text scan starts there instead of at the agent's first row, so a search over
 * the lookback costs what that window holds, not the whole history. An index range over the window
 * ((agent, peer, ts) or (agent, ts)); undefined when no row is visible from `since` on.
 */
function firstVisibleRowid(p: ProjectionDb, agent: string, v: Visibility, since: number): number | undefined {
  const lows: number[] = [];
  const lo = (sql: string, ...args: Array<string | number>): void => {
    const r = p.stmt(sql).get(...args);
    if (r && r.lo !== null && r.lo !== undefined) lows.push(Number(r.lo));
  };
  if (v.peer === undefined) lo("SELECT min(n) AS lo FROM rows WHERE agent = ? AND ts >= ?", agent, since);
  else {
    lo("SELECT min(n) AS lo FROM rows WHERE agent = ? AND peer = ? AND ts >= ?", agent, v.peer, since);
    if (v.agentWide) lo("SELECT min(n) AS lo FROM rows WHERE agent = ? AND peer IS NULL AND ts >= ?", agent, since);
  }
  return lows.length > 0 ? Math.min(...lows) : undefined;
}

/**
 * BM25-ranked rows matching `match`, within the reader's visibility and the filters (each agent's index,
 * merged). The ranking query carries only rowid and score; the text (and the snippet, unless
 * `snippets` is false) is read for the `limit` rows it keeps, not for every match.
 */
export function searchRows(p: ProjectionDb, q: SearchQuery): SearchHit[] {
  const v = q.visibility;
  const peer = v.peer ?? null;
  const wide = v.agentWide ? 1 : 0;
  const types = q.types && q.types.length > 0 ? JSON.stringify(q.types) : null;
  const session = q.session ?? null;
  const since = q.since ?? 0;
  const hits: SearchHit[] = [];
  for (const agent of v.agents) {
    const tbl = p.ftsTable(agent, false);
    if (!tbl) continue;
    const from = since > 0 ? firstVisibleRowid(p, agent, v, since) : 0;
    if (from === undefined) continue;
    // CROSS JOIN keeps the full-text match as the outer loop: with a plain JOIN SQLite walks the
    // agent's rows by index and runs the MATCH once per row (seconds on a large history).
    const sql = `SELECT r.n AS n, bm25(${tbl}) AS bm25
      FROM ${tbl} CROSS JOIN rows r ON r.n = ${tbl}.rowid
      WHERE ${tbl} MATCH ? AND ${tbl}.rowid >= ?
        AND r.agent = ?
        AND (? IS NULL OR r.peer = ? OR (r.peer IS NULL AND ? = 1))
        AND (? = 1 OR r.peer IS NOT NULL)
        AND r.ts >= ? AND r.ts <= ?
        AND (? IS NULL OR r.type IN (SELECT value FROM json_each(?)))
        AND (? IS NULL OR r.session = ?)
        ${EXCLUDE_SQL}
      ORDER BY bm25 LIMIT ?`;
    const ranked = p.arrays(sql).all(q.match, BigInt(from), agent, peer, peer, wide, wide, since, q.until ?? Number.MAX_SAFE_INTEGER, types, types, session, session, ...excludeArgs(q.exclude), q.limit) as unknown as Array<[number, number]>;
    const byN = p.stmt(`SELECT ${COLUMNS} FROM rows WHERE n = ?`);
    for (const [n, bm25] of ranked) {
      const r = byN.get(n);
      if (!r) continue;
      hits.push({ row: toRow(r as SqlRow), bm25: Number(bm25), snippet: q.snippets === false ? "" : snippetAt(p, tbl, q.match, n) });
    }
  }
  return v.agents.length > 1 ? hits.sort((a, b) => a.bm25 - b.bm25).slice(0, q.limit) : hits;
}

/** FTS5's snippet of one matching row (its rowid), or "" when the row does not match. */
function snippetAt(p: ProjectionDb, tbl: string, match: string, n: number): string {
  // The rowid goes in as an integer: node:sqlite binds a JS number as REAL, and FTS5 then drops a
  // `rowid = ?` constraint (it returned every match, first the wrong one); SQLite 3.53, Node 24.
  const r = p.stmt(`SELECT snippet(${tbl}, 0, '', '', '…', 40) AS snip FROM ${tbl} WHERE ${tbl} MATCH ? AND rowid = ?`).get(match, BigInt(n));
  return r ? String(r.snip) : "";
}

/** FTS5's snippet of the row with this event id for `match` ("" when it does not match): for the hits a search returns. */
export function snippetOf(p: ProjectionDb, agent: string, match: string, id: string): string {
  const tbl = p.ftsTable(agent, false);
  const r = tbl ? p.stmt("SELECT n FROM rows WHERE id = ?").get(id) : undefined;
  return tbl && r ? snippetAt(p, tbl, match, Number(r.n)) : "";
}

/** Which of `words` name a speaker of one of these agents' rows. */
export function speakerWords(p: ProjectionDb, agents: readonly string[], words: readonly string[]): Set<string> {
  const out = new Set<string>();
  if (words.length === 0) return out;
  const stmt = p.stmt("SELECT token FROM speakers WHERE agent = ? AND token IN (SELECT value FROM json_each(?))");
  const list = JSON.stringify(words);
  for (const agent of agents) for (const r of stmt.all(agent, list)) out.add(String(r.token));
  return out;
}

/**
 * The conversation rows just before and just after one row (same agent and conversation), within
 * the reader's exclusion: the turn that asked, the turn that answered. Two index probes.
 */
export function neighbours(p: ProjectionDb, row: MemoryRow, exclude?: Exclusion): MemoryRow[] {
  if (row.peer === null) return [];
  const cols = COLUMNS.split(", ").map((c) => `r.${c}`).join(", ");
  const out: MemoryRow[] = [];
  for (const [cmp, order] of [["<", "DESC"], [">", "ASC"]] as const) {
    const r = p.stmt(`SELECT ${cols} FROM rows r WHERE r.agent = ? AND r.peer = ? AND r.ts ${cmp} ? AND r.role IN ('user', 'agent') ${EXCLUDE_SQL} ORDER BY r.ts ${order} LIMIT 1`).get(row.agent, row.peer, row.ts, ...excludeArgs(exclude));
    if (r) out.push(toRow(r as SqlRow));
  }
  return out;
}

/** One row by event id, if the reader may see it. */
export function visibleRow(p: ProjectionDb, id: string, v: Visibility): MemoryRow | undefined {
  const r = p.stmt(`SELECT ${COLUMNS} FROM rows WHERE id = ?`).get(id);
  if (!r) return undefined;
  const row = toRow(r as SqlRow);
  if (!v.agents.includes(row.agent)) return undefined;
  if (row.peer === null) return v.agentWide ? row : undefined;
  return v.peer === undefined || row.peer === v.peer ? row : undefined;
}

/** Rows in the projection (all agents), and the time span they cover. */
export function stats(p: ProjectionDb): { rows: number; oldest: number | undefined; newest: number | undefined } {
  const r = p.stmt("SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi FROM rows").get();
  return { rows: Number(r?.n ?? 0), oldest: r?.lo === null ? undefined : Number(r?.lo), newest: r?.hi === null ? undefined : Number(r?.hi) };
}
