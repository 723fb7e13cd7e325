import { existsSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";

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
