import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { RecentSeqs } from "./recent-seqs.ts";

/** Stored messages remembered (newest kept): far more than one ack wait's worth of redeliveries. */
const MAX_KEPT = 10_000;

/**
 * Durable-inbox messages this gateway committed to the host's session store, in a file under the plugin's
 * state dir, so that a redelivery after a crash is acked away instead of handed to the agent again.
 *
 * Why: a message is committed (durable in the host), then acked. A SIGKILL between the two — the ack not yet
 * at the server — made JetStream redeliver it after the restart, and the in-memory dedupe (RecentSeqs) was
 * gone with the process: the agent got it twice (1 of 148 durable wakes in a soak with SIGKILLs, #18).
 * The key is written right after the commit resolves and before the ack is sent; what is left is the
 * microseconds between the two. Only durable commits are written: a hand-off the host holds in memory (a new
 * session's first turn, a system event) is still redelivered, since a crash may have lost it.
 *
 * A key is the stream, the sequence and the stored timestamp: a stream deleted and created again reuses
 * sequences, never the pair. Another gateway sharing the consumer keeps its own file (it never saw these).
 */
export class HandedOffJournal {
  private readonly keys = new RecentSeqs<string>(MAX_KEPT);
  private readonly path: string | undefined;
  private readonly log: Logger;
  private lines = 0;
  private failed = false;

  /** Without a path (no state dir): memory only, as the in-process dedupe. */
  constructor(path: string | undefined, log: Logger) {
    this.path = path;
    this.log = log;
    if (!path) return;
    let text = "";
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") log.warn(`nats: durable inbox: could not read ${path} (${errorMessage(err)}); redeliveries after a crash may reach the agent twice`);
    }
    const all = text.split("\n").filter((l) => l.length > 0);
    for (const key of all.slice(-MAX_KEPT)) this.keys.add(key);
    this.lines = all.length;
  }

  static key(stream: string, seq: number, timestampNanos: number): string {
    return `${stream}:${seq}:${timestampNanos}`;
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /** Remember a committed message (synchronously on disk: it must be there before the ack leaves). */
  add(key: string): void {
    this.keys.add(key);
    if (!this.path || this.failed) return;
    try {
      if (this.lines === 0) mkdirSync(dirname(this.path), { recursive: true });
      // A write(2) reaches the page cache before this returns: a SIGKILL right after cannot lose it.
      appendFileSync(this.path, `${key}\n`);
      if (++this.lines > 2 * MAX_KEPT) this.compact();
    } catch (err) {
      this.failed = true; // one line, not one per message
      this.log.warn(`nats: durable inbox: could not write ${this.path} (${errorMessage(err)}); redeliveries after a crash may reach the agent twice`);
    }
  }

  /** Keep the newest MAX_KEPT keys (what `keys` holds): bounded on disk like in memory. */
  private compact(): void {
    const tmp = `${this.path}.tmp`;
    const kept = this.keys.values();
    writeFileSync(tmp, kept.map((k) => `${k}\n`).join(""));
    renameSync(tmp, this.path!);
    this.lines = kept.length;
  }
}
