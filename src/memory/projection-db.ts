import type { DatabaseSync, StatementSync } from "node:sqlite";

/**
 * The projection's database handle: cached prepared statements and the per-agent FTS5 tables
 * (shared by the projection's writes and its reads).
 */
export class ProjectionDb {
  readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  /** agent → its FTS5 table, as far as known (a reader re-checks a miss: the writer may have added one). */
  private readonly ftsTables = new Map<string, string>();

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  stmt(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** The agent's FTS5 table (created when `create`), or undefined. Named from the agent token's hex, never from raw input. */
  ftsTable(agent: string, create: boolean): string | undefined {
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

  /** A cached statement that returns rows as arrays. */
  arrays(sql: string): StatementSync {
    const key = `arrays:${sql}`;
    let s = this.statements.get(key);
    if (!s) {
      s = this.db.prepare(sql);
      s.setReturnArrays(true);
      this.statements.set(key, s);
    }
    return s;
  }
}
