import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Priority } from "../wake/message.ts";
import type { AlertState, GroupRecord } from "./decide.ts";

/** One wake the receiver has accepted and must hand to the agent; deleted once handed over. */
export interface PendingWake {
  id: number;
  /** Stable per group state change: a retried hand-off carries the same key. */
  key: string;
  groupKey: string;
  agentId: string;
  sessionKey: string;
  priority: Priority;
  text: string;
  createdAt: number;
  attempts: number;
}

interface GroupRow {
  group_key: string;
  receiver: string;
  session_key: string | null;
  priority: string | null;
  alerts: string;
  updated_at: number;
  notified_at: number | null;
}

interface WakeRow {
  id: number;
  idem_key: string;
  group_key: string;
  agent_id: string;
  session_key: string;
  priority: string;
  text: string;
  created_at: number;
  attempts: number;
}

/**
 * The receiver's memory, in `<plugin state dir>/alertmanager.sqlite`: what each group looked like at its
 * last notification, and an outbox of accepted wakes not yet handed to the agent. A commit is fsynced
 * (WAL, synchronous=FULL) before Alertmanager gets its 2xx, so dedup survives a gateway restart and an
 * accepted alert survives a crash.
 */
export class AlertStore {
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly getGroup: StatementSync;
  private readonly putGroup: StatementSync;
  private readonly touchGroup: StatementSync;
  private readonly addWake: StatementSync;
  private readonly listWakes: StatementSync;
  private readonly dropWake: StatementSync;
  private readonly bumpWake: StatementSync;
  private readonly prune: StatementSync;
  private readonly counts: StatementSync;
  private readonly recent: StatementSync;

  private constructor(db: DatabaseSync, path: string) {
    this.db = db;
    this.path = path;
    db.exec(`CREATE TABLE IF NOT EXISTS groups (
      group_key TEXT PRIMARY KEY, receiver TEXT NOT NULL, session_key TEXT, priority TEXT,
      alerts TEXT NOT NULL, updated_at INTEGER NOT NULL, notified_at INTEGER)`);
    db.exec(`CREATE TABLE IF NOT EXISTS wakes (
      id INTEGER PRIMARY KEY, idem_key TEXT NOT NULL UNIQUE, group_key TEXT NOT NULL, agent_id TEXT NOT NULL,
      session_key TEXT NOT NULL, priority TEXT NOT NULL, text TEXT NOT NULL, created_at INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0)`);
    this.getGroup = db.prepare("SELECT * FROM groups WHERE group_key = ?");
    this.putGroup = db.prepare(`INSERT INTO groups (group_key, receiver, session_key, priority, alerts, updated_at, notified_at)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(group_key) DO UPDATE SET receiver = excluded.receiver,
      session_key = excluded.session_key, priority = excluded.priority, alerts = excluded.alerts,
      updated_at = excluded.updated_at, notified_at = excluded.notified_at`);
    this.touchGroup = db.prepare("UPDATE groups SET updated_at = ?, alerts = ? WHERE group_key = ?");
    this.addWake = db.prepare(`INSERT INTO wakes (idem_key, group_key, agent_id, session_key, priority, text, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(idem_key) DO NOTHING`);
    this.listWakes = db.prepare("SELECT * FROM wakes ORDER BY id LIMIT ?");
    this.dropWake = db.prepare("DELETE FROM wakes WHERE id = ?");
    this.bumpWake = db.prepare("UPDATE wakes SET attempts = attempts + 1 WHERE id = ?");
    this.prune = db.prepare("DELETE FROM groups WHERE updated_at < ?");
    this.counts = db.prepare(
      "SELECT (SELECT count(*) FROM groups) AS groups, (SELECT count(*) FROM groups WHERE alerts LIKE '%\"firing\"%') AS firing, (SELECT count(*) FROM wakes) AS pending",
    );
    this.recent = db.prepare("SELECT * FROM groups ORDER BY updated_at DESC LIMIT ?");
  }

  static open(path: string): AlertStore {
    mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path, { timeout: 2000 });
    try {
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = FULL");
      return new AlertStore(db, path);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  group(groupKey: string): GroupRecord | undefined {
    const row = this.getGroup.get(groupKey) as unknown as GroupRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  /**
   * Records the group's new state and, when `wake` is given, the wake to hand over — in one
   * transaction, so a state change is never remembered without its wake (or the other way round).
   * Returns the pending wake row (undefined when `wake` was a duplicate key or absent).
   */
  commit(record: GroupRecord, wake?: Omit<PendingWake, "id" | "attempts" | "createdAt">): PendingWake | undefined {
    const now = Date.now();
    this.db.exec("BEGIN IMMEDIATE");
    try {
      this.putGroup.run(record.groupKey, record.receiver, record.sessionKey ?? null, record.priority ?? null, JSON.stringify(record.alerts), record.updatedAt, record.notifiedAt ?? null);
      let pending: PendingWake | undefined;
      if (wake) {
        const r = this.addWake.run(wake.key, wake.groupKey, wake.agentId, wake.sessionKey, wake.priority, wake.text, now);
        if (r.changes > 0) pending = { ...wake, id: Number(r.lastInsertRowid), createdAt: now, attempts: 0 };
      }
      this.db.exec("COMMIT");
      return pending;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }

  /** A re-send of an unchanged group: remember that it is still alive (for retention), nothing else. */
  touch(groupKey: string, alerts: Record<string, AlertState>): void {
    this.touchGroup.run(Date.now(), JSON.stringify(alerts), groupKey);
  }

  pending(limit = 100): PendingWake[] {
    return (this.listWakes.all(limit) as unknown as WakeRow[]).map((r) => ({
      id: r.id,
      key: r.idem_key,
      groupKey: r.group_key,
      agentId: r.agent_id,
      sessionKey: r.session_key,
      priority: r.priority as Priority,
      text: r.text,
      createdAt: r.created_at,
      attempts: r.attempts,
    }));
  }

  handed(id: number): void {
    this.dropWake.run(id);
  }

  failed(id: number): void {
    this.bumpWake.run(id);
  }

  /** Forgets groups not notified for `olderThanMs`; returns how many. */
  forget(olderThanMs: number): number {
    return Number(this.prune.run(Date.now() - olderThanMs).changes);
  }

  stats(): { groups: number; firingGroups: number; pendingWakes: number } {
    const r = this.counts.get() as { groups: number; firing: number; pending: number };
    return { groups: r.groups, firingGroups: r.firing, pendingWakes: r.pending };
  }

  recentGroups(limit: number): GroupRecord[] {
    return (this.recent.all(limit) as unknown as GroupRow[]).map(toRecord);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function toRecord(row: GroupRow): GroupRecord {
  return {
    groupKey: row.group_key,
    receiver: row.receiver,
    sessionKey: row.session_key ?? undefined,
    priority: (row.priority ?? undefined) as Priority | undefined,
    alerts: JSON.parse(row.alerts) as Record<string, AlertState>,
    updatedAt: row.updated_at,
    notifiedAt: row.notified_at ?? undefined,
  };
}
