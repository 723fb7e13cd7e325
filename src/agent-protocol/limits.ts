/**
 * How many prompt turns may run at once: in total, and per caller. Over either limit the request gets
 * 429 at once, before any model work, so a flood from one caller neither queues up behind the host's
 * session lanes nor starves the others.
 */
export class TurnLimits {
  private readonly max: number;
  private readonly perCaller: number;
  private running = 0;
  private readonly byCaller = new Map<string, number>();

  constructor(max: number, perCaller: number) {
    this.max = max;
    this.perCaller = perCaller;
  }

  get active(): number {
    return this.running;
  }

  /** A release function, or why not. */
  acquire(caller: string): { ok: true; release: () => void } | { ok: false; reason: string } {
    const mine = this.byCaller.get(caller) ?? 0;
    if (mine >= this.perCaller) return { ok: false, reason: `this caller already has ${mine} prompt(s) running (agentProtocol.maxTurnsPerCaller ${this.perCaller})` };
    if (this.running >= this.max) return { ok: false, reason: `${this.running} prompts are running on this gateway (agentProtocol.maxConcurrentTurns ${this.max})` };
    this.running++;
    this.byCaller.set(caller, mine + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.running--;
        const left = (this.byCaller.get(caller) ?? 1) - 1;
        if (left <= 0) this.byCaller.delete(caller);
        else this.byCaller.set(caller, left);
      },
    };
  }
}
