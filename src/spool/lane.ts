import type { DatabaseSync, StatementSync } from "node:sqlite";

export interface Totals {
  n: number;
  b: number;
  top: number | null;
}

/**
 * One ordered outbox table. Rows of a lane are published over one connection, in seq order.
 * Lanes let an agent with its own NATS server drain independently of the others.
 */
export class Lane {
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
