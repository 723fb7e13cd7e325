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

/** The slice of the host's run waiting that holdUntilDone needs. */
export type RunWaiter = (runId: string, timeoutMs: number) => Promise<{ status: string }>;

/**
 * Keep a slot until the run ends, at most `maxMs`. The host's agent.wait answers "pending" at once for a
 * run waiting in its queue and "timeout" when its own wait ran out, so one wait is not enough: ask again
 * (after `pollMs`) until the run is over (ok / error), the wait throws, or the deadline passes.
 */
export async function holdUntilDone(wait: RunWaiter, runId: string, maxMs: number, release: () => void, pollMs = 1000): Promise<void> {
  const deadline = Date.now() + maxMs;
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      const r = await wait(runId, left);
      if (r.status !== "timeout" && r.status !== "pending") return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
    }
  } catch {
    // the host cannot tell any more; free the slot
  } finally {
    release();
  }
}
