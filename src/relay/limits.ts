export type Slot = { ok: true; release: () => void } | { ok: false; reason: string };

/**
 * Relay turns running at once, for the whole gateway and per target session. A request past either
 * limit is refused at once (429), never queued where nobody sees it.
 */
export class TurnSlots {
  private readonly max: number;
  private readonly maxPerSession: number;
  private readonly perSession = new Map<string, number>();
  active = 0;

  constructor(max: number, maxPerSession: number) {
    this.max = max;
    this.maxPerSession = maxPerSession;
  }

  take(sessionKey: string): Slot {
    if (this.active >= this.max) return { ok: false, reason: `busy: ${this.active} relay turns are running, the limit is relay.maxConcurrent (${this.max}); try again later` };
    const inSession = this.perSession.get(sessionKey) ?? 0;
    if (inSession >= this.maxPerSession) {
      return { ok: false, reason: `busy: ${sessionKey} already has ${inSession} relay turn(s) running, the limit is relay.maxConcurrentPerSession (${this.maxPerSession}); try again later` };
    }
    this.active++;
    this.perSession.set(sessionKey, inSession + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.active--;
        const left = (this.perSession.get(sessionKey) ?? 1) - 1;
        if (left > 0) this.perSession.set(sessionKey, left);
        else this.perSession.delete(sessionKey);
      },
    };
  }
}
