import type { Logger } from "./logger.ts";

/** How often a flood of failed authentications (relay HTTP, agent-protocol prompts) is summed up in the log. */
export const AUTH_FAILURE_LOG_INTERVAL_MS = 60_000;

export interface RateLimitedLogOptions {
  intervalMs: number;
  /** For tests: the clock and the timer. */
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => { unref?: () => void };
}

/**
 * One warning line per interval for a repeated event (failed authentication): the first occurrence is
 * logged at once, the rest of the interval is counted and summed up in one line when it ends. A flood of
 * bad requests cannot flood the log, and nothing is hidden: the count is exact.
 */
export class RateLimitedLog {
  private readonly log: Logger;
  private readonly what: string;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => { unref?: () => void };
  private windowEnds = 0;
  private suppressed = 0;
  private last = "";
  private timerSet = false;

  constructor(log: Logger, what: string, opts: RateLimitedLogOptions) {
    this.log = log;
    this.what = what;
    this.intervalMs = opts.intervalMs;
    this.now = opts.now ?? Date.now;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  }

  report(line: string): void {
    const now = this.now();
    if (now >= this.windowEnds && !this.timerSet) {
      this.windowEnds = now + this.intervalMs;
      this.log.warn(line);
      return;
    }
    this.suppressed++;
    this.last = line;
    if (!this.timerSet) {
      this.timerSet = true;
      this.setTimer(() => this.flush(), Math.max(0, this.windowEnds - now)).unref?.();
    }
  }

  /** Log the count for the interval that just ended (called by the timer). */
  flush(): void {
    this.timerSet = false;
    if (this.suppressed === 0) return;
    const seconds = Math.round(this.intervalMs / 1000);
    this.log.warn(`${this.what}: ${this.suppressed} more in the last ${seconds} s (last: ${this.last})`);
    this.suppressed = 0;
    this.windowEnds = this.now() + this.intervalMs;
  }
}
