import { processEntry, processState } from "../shared/process-state.ts";
import { Spool, type SpoolOptions } from "./spool.ts";

/**
 * One open spool per file per process, shared by every event store of the process.
 *
 * A config reload builds a new runtime (and event store) while the old one still runs and holds the
 * file's exclusive SQLite lock until its stop; the new registration's hooks record before its start. Opening
 * the file a second time fails ("in use"), so those events were dropped and the error stuck. Shared, the
 * new store writes into the same handle, the old store's stop only lets go of it, and the new store's
 * drainers publish every row once they start. A process-state entry (shared/process-state.ts): the host
 * loads each registry generation as its own module copy.
 */
type Held = { spool: Spool; refs: number };
const SPOOLS = processEntry("spool", "open-files", () => new Map<string, Held>());

function held(): Map<string, Held> {
  return processState(SPOOLS);
}

/** The process's open spool for this file (one more holder), or the file opened now. Throws like Spool.open. */
export function acquireSpool(opts: SpoolOptions): Spool {
  const all = held();
  const known = all.get(opts.path);
  if (known && !known.spool.isClosed) {
    known.refs++;
    return known.spool;
  }
  const spool = Spool.open(opts);
  all.set(opts.path, { spool, refs: 1 });
  return spool;
}

/** One holder lets go; the last one closes the file (and frees its lock). */
export function releaseSpool(spool: Spool): void {
  const all = held();
  const known = all.get(spool.path);
  if (!known || known.spool !== spool) {
    spool.close();
    return;
  }
  if (--known.refs > 0) return;
  all.delete(spool.path);
  spool.close();
}
