const WINDOW_MS = 60_000;

export interface NewSessionLimits {
  /** New sessions one sender may open per minute (wake.newSessionsPerSenderPerMinute). */
  perSender: number;
  /** New sessions all senders together may open per minute (wake.newSessionsPerMinute). */
  total: number;
}

/**
 * A wake to a session the host has no row for makes the host create state for it (a first turn, or a
 * memory-only system-event queue) on the sender's say-so, and session keys are the sender's to choose.
 * This gate caps how many such sessions open per minute, per sender and in total. Its own memory is
 * bounded by the total cap: it keeps only admissions of the last minute.
 */
export class NewSessionGate {
  private readonly limits: NewSessionLimits;
  /** Session key → when it was admitted; insertion order is time order. At most `total` entries. */
  private readonly admitted = new Map<string, { at: number; sender: string }>();
  /** Sender → its admissions in the window (a count; the entries in `admitted` are the truth). */
  private readonly bySender = new Map<string, number>();

  constructor(limits: NewSessionLimits) {
    this.limits = limits;
  }

  /** undefined: the sender may open `sessionKey`; else why not. */
  admit(sender: string, sessionKey: string, now: number = Date.now()): string | undefined {
    this.expire(now);
    // The same new session again within the window (a burst before the host made its row) is not another one.
    if (this.admitted.has(sessionKey)) return undefined;
    const mine = this.bySender.get(sender) ?? 0;
    if (mine >= this.limits.perSender) {
      return `sender "${sender.slice(0, 120)}" opened ${mine} new sessions in the last minute (wake.newSessionsPerSenderPerMinute ${this.limits.perSender}); not opening ${sessionKey.slice(0, 120)}`;
    }
    if (this.admitted.size >= this.limits.total) {
      return `${this.admitted.size} new sessions in the last minute (wake.newSessionsPerMinute ${this.limits.total}); not opening ${sessionKey.slice(0, 120)}`;
    }
    this.admitted.set(sessionKey, { at: now, sender });
    this.bySender.set(sender, mine + 1);
    return undefined;
  }

  /** Entries held (admissions and senders of the last minute). */
  get size(): number {
    return this.admitted.size + this.bySender.size;
  }

  private expire(now: number): void {
    for (const [key, a] of this.admitted) {
      if (a.at > now - WINDOW_MS) break;
      this.admitted.delete(key);
      const n = (this.bySender.get(a.sender) ?? 1) - 1;
      if (n <= 0) this.bySender.delete(a.sender);
      else this.bySender.set(a.sender, n);
    }
  }
}
